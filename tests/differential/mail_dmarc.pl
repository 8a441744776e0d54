#!/usr/bin/perl
# mail_dmarc.pl - Mail::DMARC::PurePerl's verdict (libmail-dmarc-perl, RFC
# 7489) for dmarc_diff.py's cases.  Usage: mail_dmarc.pl NS_PORT < cases.json
# Prints "name result policy" per case.  DNS: the nsd that dmarc_diff.py
# starts on 127.0.0.1:NS_PORT, through a Net::DNS resolver asking only it.
use strict;
use warnings;
use JSON::PP;
use Net::DNS;
use Mail::DMARC::PurePerl;

my $port = shift @ARGV or die "usage: mail_dmarc.pl NS_PORT < cases.json\n";
my $ns = Net::DNS::Resolver->new(nameservers => ['127.0.0.1'], port => $port,
    recurse => 1, udp_timeout => 3, tcp_timeout => 3, retry => 2,
    dnsrch => 0, defnames => 0);
my $cases = decode_json(do { local $/; <STDIN> });	# not global: PSL reads lines
for my $c (@$cases) {
	my $d = Mail::DMARC::PurePerl->new;
	$d->set_resolver($ns);
	$d->header_from($c->{from});
	$d->source_ip('192.0.2.1');
	$d->envelope_to('example.net');
	$d->envelope_from($c->{spfdom});
	$d->spf(domain => $c->{spfdom}, scope => 'mfrom', result => $c->{spf});
	$d->dkim([ map { { domain => $_->[1], selector => 's',
	    result => $_->[0] } } @{ $c->{dkim} } ]);
	my $res = $d->validate;
	my $r = $res->result;
	my $pub = eval { $res->published };	# croaks when none was found
	$r = 'none' if !$pub && $r eq 'fail';
	my $pol = $r eq 'fail' ? ($res->disposition || '-') : '-';
	print "$c->{name} $r $pol\n";
}
