/*
 * ascii.h - small text helpers shared by several modules: the character
 * class of the header writers (message/authres.c for
 * Authentication-Results, spf/spf.c for Received-SPF), and a bounded
 * append for the reason strings of dkim/ and dmarc/.
 * Pure functions, no state.
 */
#ifndef AM_ASCII_H
#define AM_ASCII_H

#include <stddef.h>

/*
 * am_ascii_printable - 1 when every byte of s[0..n-1] is printable ASCII
 * (0x20-0x7e).  Neither RFC 8601 2.2's pvalue nor RFC 7208 9.1's
 * dot-atom/quoted-string carries anything else as itself (no quoted-pair
 * for a control, RFC 5322 3.2.1; strict readers refuse UTF-8), so a value
 * that is not is left out rather than written as another name.
 */
int	am_ascii_printable(const char *s, size_t n);

/*
 * am_ascii_append - add text to the NUL-terminated string in out (an
 * array of len bytes), cut to fit: a reason that is too long ends early
 * rather than being lost or overflowing.
 */
void	am_ascii_append(char *out, size_t len, const char *text);

/*
 * am_ascii_dns_name - 1 when s is a usable DNS name as we write and look
 * it up: labels of 1..63 letters, digits, '-' or '_' (the underscore for
 * _dmarc-style names), joined by single dots, at most 253 octets (RFC
 * 1035 2.3.4), no final dot.  Upper case is accepted: callers lower it.
 */
int	am_ascii_dns_name(const char *s);

/*
 * am_ascii_dot_atom - 1 when s[0..n-1] is RFC 5322 3.2.3 dot-atom-text:
 * atext atoms joined by single dots (also RFC 5321's Dot-string).
 */
int	am_ascii_dot_atom(const char *s, size_t n);

#endif
