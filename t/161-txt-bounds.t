#!/usr/bin/perl
# ?format=txt is written into fixed-size buffers and bounded by the JSON's
# size: a deeply nested value (every line indented two spaces per level) no
# longer renders into a text tens of times the answer, and readers that hold
# their responses do not grow the worker by that much.

use strict;
use warnings;
use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use Dash;
use Dash::Raw;

my $t = Dash->new;
my $w = $t->world;
my $P = $w->{project};

# 150 nested objects, the innermost with 70,000 keys: ~800 KB of JSON whose
# keys each take a line of 300+ spaces as text (~22 MB before the bound)

my $inner = { map { ("k$_" => 0) } 1 .. 70_000 };
my $deep = $inner;
$deep = { a => $deep } for 1 .. 150;

my $d = $t->fixture_dashboard(team => $w->{team}, user => $w->{user}, name => 'Deep',
                              filters => $deep);

my $json = $t->api(GET => "/api/projects/$P/dashboards/$d/");
is $json->{status}, 200, 'JSON: 200';
my $jlen = length $json->{raw};
cmp_ok $jlen, '>', 700_000, "the JSON answer is large ($jlen bytes)";

my $max = 2 * $jlen + 65536;

my $off = $t->log_offset;
my $r = $t->api(GET => "/api/projects/$P/dashboards/$d/?format=txt");
is $r->{status}, 200, 'txt: 200';
like $r->{content_type}, qr{^text/plain}, 'txt: text/plain';
my $tlen = length $r->{raw};
cmp_ok $tlen, '<=', $max + 200, "txt: at most twice the JSON plus 64 KB ($tlen bytes)";
like $r->{raw}, qr/^id: $d\nname: Deep\n/, 'txt: starts as usual';
like $r->{raw}, qr/\n\[truncated: the text rendering stops at $max bytes; \?format=json answers the whole\]\n\z/,
    'txt: ends with the truncation line';

# the structure: fixed-size buffers, as many as the bound needs
my $line = $t->wait_for_log(qr/(dashboards: text of \d+ bytes in \d+ buffers of \d+)/, from => $off);
my ($bytes, $bufs, $chunk) = ($line // '') =~ /text of (\d+) bytes in (\d+) buffers of (\d+)/;
ok defined $bufs, 'the rendering is logged' or diag $line;
is $bytes, $tlen, 'the logged size is the body';
cmp_ok $bufs // 1e9, "<=", int(($max + 200) / ($chunk || 32768)) + 1, "bounded buffer count (" . ($bufs // "?") . " buffers)";

# a small answer is not cut
my $s = $t->fixture_dashboard(team => $w->{team}, user => $w->{user}, name => 'Small');
$r = $t->api(GET => "/api/projects/$P/dashboards/$s/?format=txt");
is $r->{status}, 200, 'small txt: 200';
unlike $r->{raw}, qr/truncated/, 'small txt: whole';
like $r->{raw}, qr/\nname: Small\n/, 'small txt: rendered';

# ten readers that do not read their answers yet: the worker holds ten
# rendered texts; before the bound each was ~22 MB (plus the copies of a
# growing array), now about 2 x 0.8 MB

# (not under a sanitizer: AddressSanitizer keeps freed memory in quarantine
# and valgrind is too slow for ten large answers at once)
if (Dash::sanitizer()) {
    done_testing;
    exit 0;
}

my ($pid) = $t->worker_pids;
my $rss = sub {
    open my $fh, '<', "/proc/$pid/status" or return 0;
    while (<$fh>) { return $1 if /^VmRSS:\s+(\d+) kB/ }
    return 0;
};

my $before = $rss->();
$off = $t->log_offset;
my @socks = map { Dash::Raw::send_request($t, GET => "/api/projects/$P/dashboards/$d/?format=txt") } 1 .. 10;

ok $t->wait_until(sub {
    my @n = $t->error_log(from => $off) =~ /dashboards: text of \d+ bytes/g;
    return @n >= 10;
}, timeout => 60), 'ten texts rendered';

my $held = $rss->();
my $grown = ($held - $before) / 1024;
cmp_ok $grown, '<', 120, sprintf('RSS while ten readers hold their texts: +%.0f MB', $grown);

for my $sock (@socks) {
    my $x = Dash::Raw::read_response($sock, 60);
    is $x->{status}, 200, 'held reader: 200';
    like $x->{raw}, qr/\[truncated/, 'held reader: bounded text';
}

my $after = $rss->();
$grown = ($after - $before) / 1024;
cmp_ok $grown, '<', 120, sprintf('RSS after the ten readers: +%.0f MB', $grown);

done_testing;
