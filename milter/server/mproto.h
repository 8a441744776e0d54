/*
 * mproto.h - the milter protocol (version 6, as Postfix and sendmail speak
 * it) on the wire: framing, the payloads authmilter reads, the replies it
 * writes.  Pure functions over caller-owned bytes: no I/O, no allocation
 * except into a caller's struct am_buf.  engine.c does the I/O.
 *
 * A packet is a 32-bit length in network order (counting the command
 * byte), one command byte, then the payload.  Strings in payloads are
 * NUL-terminated; parsers check every terminator and never read past the
 * payload, so any bytes from the socket give either a parse or -1.
 * Pointers a parser returns point into the packet's payload.
 */
#ifndef AM_MPROTO_H
#define AM_MPROTO_H

#include <sys/types.h>
#include <sys/socket.h>

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"

#define AM_MP_VERSION		6	/* what we speak; older MTAs: theirs */
#define AM_MP_HDRLEN		5	/* length + command */
#define AM_MP_CHUNK		65535	/* body chunk the MTA sends at most */

/* commands, MTA to filter */
#define AM_MPC_ABORT		'A'
#define AM_MPC_BODY		'B'
#define AM_MPC_CONNECT		'C'
#define AM_MPC_MACRO		'D'
#define AM_MPC_BODYEOB		'E'
#define AM_MPC_HELO		'H'
#define AM_MPC_QUIT_NC		'K'	/* quit, new connection follows */
#define AM_MPC_HEADER		'L'
#define AM_MPC_MAIL		'M'
#define AM_MPC_EOH		'N'
#define AM_MPC_OPTNEG		'O'
#define AM_MPC_QUIT		'Q'
#define AM_MPC_RCPT		'R'
#define AM_MPC_DATA		'T'
#define AM_MPC_UNKNOWN		'U'

/* replies, filter to MTA */
#define AM_MPR_ADDHEADER	'h'
#define AM_MPR_INSHEADER	'i'
#define AM_MPR_CHGHEADER	'm'
#define AM_MPR_QUARANTINE	'q'
#define AM_MPR_ACCEPT		'a'
#define AM_MPR_CONTINUE		'c'
#define AM_MPR_REJECT		'r'
#define AM_MPR_TEMPFAIL		't'
#define AM_MPR_REPLYCODE	'y'
#define AM_MPR_OPTNEG		'O'

/* actions the filter may take (negotiated; libmilter's SMFIF_*) */
#define AM_MPF_ADDHDRS		0x00000001
#define AM_MPF_CHGBODY		0x00000002
#define AM_MPF_ADDRCPT		0x00000004
#define AM_MPF_DELRCPT		0x00000008
#define AM_MPF_CHGHDRS		0x00000010
#define AM_MPF_QUARANTINE	0x00000020
#define AM_MPF_CHGFROM		0x00000040
#define AM_MPF_ADDRCPT_PAR	0x00000080
#define AM_MPF_SETSYMLIST	0x00000100

/* protocol steps (negotiated; libmilter's SMFIP_*) */
#define AM_MPP_NOCONNECT	0x00000001
#define AM_MPP_NOHELO		0x00000002
#define AM_MPP_NOMAIL		0x00000004
#define AM_MPP_NORCPT		0x00000008
#define AM_MPP_NOBODY		0x00000010
#define AM_MPP_NOHDRS		0x00000020
#define AM_MPP_NOEOH		0x00000040
#define AM_MPP_NR_HDR		0x00000080
#define AM_MPP_NOUNKNOWN	0x00000100
#define AM_MPP_NODATA		0x00000200
#define AM_MPP_SKIP		0x00000400
#define AM_MPP_RCPT_REJ		0x00000800
#define AM_MPP_NR_CONN		0x00001000
#define AM_MPP_NR_HELO		0x00002000
#define AM_MPP_NR_MAIL		0x00004000
#define AM_MPP_NR_RCPT		0x00008000
#define AM_MPP_NR_DATA		0x00010000
#define AM_MPP_NR_UNKN		0x00020000
#define AM_MPP_NR_EOH		0x00040000
#define AM_MPP_NR_BODY		0x00080000
#define AM_MPP_HDR_LEADSPC	0x00100000

/* macro stages, for the symbol lists in the OPTNEG reply */
enum am_mp_stage {
	AM_MPS_CONNECT = 0,
	AM_MPS_HELO,
	AM_MPS_MAIL,
	AM_MPS_RCPT,
	AM_MPS_DATA,
	AM_MPS_EOM,
	AM_MPS_EOH,
	AM_MPS_N
};

struct am_mp_packet {
	char			 cmd;
	const unsigned char	*data;	/* payload, not NUL-terminated */
	size_t			 len;
};

/*
 * am_mp_frame - the packet at the start of buf[0..len).  Returns the bytes
 * it takes (> 0, packet filled in), 0 when more bytes are needed, -1 when
 * the length field is 0 or larger than max + 1 (a protocol error: the
 * connection cannot be resynchronised).
 */
ssize_t	am_mp_frame(const unsigned char *buf, size_t len, size_t max,
	    struct am_mp_packet *pkt);

/* am_mp_optneg_parse - version, actions offered, steps offered; 0 or -1 */
int	am_mp_optneg_parse(const struct am_mp_packet *, uint32_t *version,
	    uint32_t *actions, uint32_t *steps);

/*
 * am_mp_connect_parse - hostname, and the client address as a sockaddr:
 * family '4' (sockaddr_in), '6' (sockaddr_in6; an "IPv6:" prefix is
 * accepted), 'L' (sockaddr_un) or 'U' (unknown: *has_addr = 0).  0 or -1.
 */
int	am_mp_connect_parse(const struct am_mp_packet *, const char **host,
	    struct sockaddr_storage *ss, int *has_addr);

/*
 * am_mp_strings - split data[0..len) into NUL-terminated strings: up to
 * max pointers into data, *n set to how many.  -1 when the last string is
 * not terminated or there are more than max.  len 0 gives n = 0.
 */
int	am_mp_strings(const unsigned char *data, size_t len, const char **v,
	    size_t max, size_t *n);

/*
 * am_mp_header_parse - name and value of a header packet; 0 or -1.  Bytes
 * after the value's NUL are ignored (libmilter does the same).
 */
int	am_mp_header_parse(const struct am_mp_packet *, const char **name,
	    const char **value);

/*
 * am_mp_macro_find - the value of macro name in a macro payload's pairs
 * (the bytes after the stage letter: name\0value\0 ...).  "i" and "{i}"
 * name the same macro, either way round.  NULL when absent or malformed.
 */
const char *am_mp_macro_find(const unsigned char *pairs, size_t len,
	    const char *name);

/* builders: append one packet to out (check am_buf_failed once at the end) */
void	am_mp_put(struct am_buf *out, char cmd, const void *data, size_t len);
/* OPTNEG reply; symlists[stage] NULL or a space-separated macro list */
void	am_mp_put_optneg(struct am_buf *out, uint32_t version,
	    uint32_t actions, uint32_t steps,
	    const char *const symlists[AM_MPS_N]);
/* 'i' or 'm' with an index, 'h' without; value NULL (delete, 'm') as "" */
void	am_mp_put_header(struct am_buf *out, char cmd, uint32_t idx,
	    const char *name, const char *value);
/* 'y': "code xcode text" (text sent as given; '%' is the caller's job) */
void	am_mp_put_replycode(struct am_buf *out, const char *code,
	    const char *xcode, const char *text);

#endif /* AM_MPROTO_H */
