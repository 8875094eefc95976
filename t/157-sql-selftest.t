#!/usr/bin/perl
# sql/selftest (the assertions of sql/selftest.sql over every
# ngx_dashboards_* function, plus its concurrency checks) against the test
# cluster: a failed assertion fails this file, so that make test and CI run it.

use strict;
use warnings;
use utf8;
use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use Dash;

my $t = Dash->new(start => 0);

my @conn = ('-h', $t->pg_host, '-p', $t->pg_port, '-U', 'postgres');
my $script = "$FindBin::Bin/../sql/selftest";

# psql connects over the socket as the superuser (no runuser needed)
my $pid = open(my $fh, '-|') // die "fork: $!";
if (!$pid) {
    open STDERR, '>&', \*STDOUT or die "dup: $!";
    exec $script, @conn or die "exec $script: $!";
}
my @lines = <$fh>;
close $fh;
my $status = $?;
my $out = join '', @lines;

is $status, 0, 'sql/selftest exits 0' or diag $out;
like $out, qr/^selftest: ok$/m, 'sql/selftest.sql: every assertion holds';
for my $check ('race ok', 'tag race ok', 'move race ok') {
    like $out, qr/^selftest: \Q$check\E$/m, "sql/selftest: $check";
}
unlike $out, qr/FAILED/, 'no failed assertion';

done_testing;
