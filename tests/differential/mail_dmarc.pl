#!/usr/bin/perl
# mail_dmarc.pl - Mail::DMARC::PurePerl's verdict (libmail-dmarc-perl, RFC
# 7489) for dmarc_diff.py's cases.  Usage: mail_dmarc.pl < cases.json
# Prints "name result policy" per case.  DNS: a stub resolver object
# answering _dmarc TXT queries from the case's records; every other name
# exists (one A record), as in dmarc_eval, which does not check existence.
use strict;
use warnings;
use JSON::PP;
use Net::DNS;
use Mail::DMARC::PurePerl;

package StubResolver;
sub new { my ($class, $records) = @_; return bless { r => $records }, $class }
sub send {
	my ($self, $name, $type) = @_;
	$name = lc $name;
	$name =~ s/\.$//;
	my $pkt = Net::DNS::Packet->new($name, $type);
	if ($type eq 'TXT') {
		for my $t (@{ $self->{r}{$name} || [] }) {
			$pkt->push(answer => Net::DNS::RR->new(
			    name => $name, type => 'TXT', txtdata => $t));
		}
	} elsif ($type eq 'A' && $name !~ /^_dmarc\./) {
		$pkt->push(answer => Net::DNS::RR->new("$name 300 IN A 192.0.2.1"));
	}
	return $pkt;
}
sub query { my $self = shift; return $self->send(@_) }

package main;
my $cases = decode_json(do { local $/; <STDIN> });	# not global: PSL reads lines
for my $c (@$cases) {
	my $d = Mail::DMARC::PurePerl->new;
	$d->set_resolver(StubResolver->new($c->{records}));
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
