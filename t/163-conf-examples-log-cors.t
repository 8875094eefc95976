#!/usr/bin/perl
# conf-examples: the access log format leaves ?personal_api_key=... out, and
# the CORS headers go on answers, errors and preflights. The blocks are read
# from conf-examples/minimal.conf itself (and must be the same in the other
# examples), so the test follows what the examples ship.

use strict;
use warnings;
use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use Dash;

my $dir = "$FindBin::Bin/../conf-examples";

sub slurp { my ($f) = @_; open my $fh, '<', $f or die "$f: $!"; local $/; return <$fh> }

sub block {
    my ($text, $name) = @_;
    my ($b) = $text =~ /^([ \t]*# BEGIN \Q$name\E\n.*?^[ \t]*# END \Q$name\E\n)/ms;
    return $b;
}

sub unindent { my ($b) = @_; my ($pad) = $b =~ /^([ \t]*)/; $b =~ s/^\Q$pad\E//mg; return $b }

my $minimal = slurp("$dir/minimal.conf");
my $log = block($minimal, 'access log without API keys');
my $cors = block($minimal, 'CORS');
ok $log, 'minimal.conf has the access log block';
ok $cors, 'minimal.conf has the CORS block';
like $minimal, qr/^\s*access_log \S+ dashboards;$/m, 'minimal.conf logs with it';

for my $f (qw(production-tls-replicas.conf load-balanced.conf load-balanced-node.conf)) {
    my $text = slurp("$dir/$f");
    is block($text, 'access log without API keys'), $log, "$f: the same access log block";
    like $text, qr/^\s*access_log \S+ dashboards;$/m, "$f: logs with it";
    unlike $text, qr/^\s*access_log (?!off)\S+(?: (?!dashboards)\S+)?;$/m, "$f: no other access log format";
}
is block(slurp("$dir/production-tls-replicas.conf"), 'CORS'), $cors, 'production: the same CORS block';

my $t = Dash->new(
    http_extra     => unindent($log),
    server_extra   => "access_log %%PREFIX%%/masked.log dashboards;\n"
                    . "access_log %%PREFIX%%/combined.log combined;\n",
    location_extra => unindent($cors),
);
my $w = $t->world;
my $P = $w->{project};
my $key = $w->{key};
my $base = "/api/projects/$P/dashboards/";
my $masked = $t->prefix . '/masked.log';

my @cases = (
    [ "?personal_api_key=$key",                              qr{ \Q$base\E\?personal_api_key=\[hidden\] HTTP/1\.1" \d{3} } ],
    [ "?limit=1&personal_api_key=$key&offset=0",             qr{\?limit=1&personal_api_key=\[hidden\]&offset=0 HTTP/1\.1" \d{3} } ],
    [ "?personal_api_key=$key&personal_api_key=$key",        qr{ \Q$base\E\?\[query hidden\] HTTP/1\.1" } ],
    [ "?personal_api_key=x&personal_api_key=$key",           qr{ \Q$base\E\?\[query hidden\] HTTP/1\.1" } ],
    [ "?personal%5Fapi%5Fkey=$key",                          qr{ \Q$base\E\?\[query hidden\] HTTP/1\.1" } ],
    [ "?search=a%20b",                                       qr{ \Q$base\E\?search=a%20b HTTP/1\.1" \d{3} } ],
    [ "",                                                    qr{ \Q$base\E HTTP/1\.1" \d{3} } ],
);

for my $c (@cases) {
    my ($query, $re) = @$c;
    my $size = -s $masked // 0;
    my $r = $t->api(GET => "$base$query", key => undef);
    ok $r->{status} == 200 || $r->{status} == 401, "GET $query: answered ($r->{status})";
    ok $t->wait_until(sub { (-s $masked // 0) > $size }), "GET $query: logged";
    my $line = substr(slurp($masked), $size);
    my $shown = $line; $shown =~ s/\Q$key\E/<key>/g;
    unlike $line, qr/\Q$key\E/, "GET $query: the key is not in the access log" or diag $shown;
    like $line, $re, "GET $query: the rest of the request is" or diag $shown;
}

# nginx's default format, written at the same time, has it: the test above
# is not vacuous
like slurp($t->prefix . '/combined.log'), qr/personal_api_key=\Q$key\E/, "nginx's combined format logs the key";

# CORS
my $r = $t->api(GET => $base);
is $r->{status}, 200, 'GET: 200';
is $r->{headers}{'access-control-allow-origin'}, '*', 'GET: Access-Control-Allow-Origin';

$r = $t->api(GET => $base, key => undef);
is $r->{status}, 401, 'an error: 401';
is $r->{headers}{'access-control-allow-origin'}, '*', 'an error: Access-Control-Allow-Origin';

$r = $t->api(OPTIONS => "$base", key => undef,
             headers => { Origin => 'https://app.example', 'Access-Control-Request-Method' => 'POST',
                          'Access-Control-Request-Headers' => 'authorization, content-type' });
is $r->{status}, 200, 'preflight: 200';
is $r->{raw}, '', 'preflight: empty';
is $r->{headers}{'access-control-allow-origin'}, '*', 'preflight: Access-Control-Allow-Origin';
like $r->{headers}{'access-control-allow-methods'} // '', qr/\bPOST\b/, 'preflight: Access-Control-Allow-Methods';
like $r->{headers}{'access-control-allow-headers'} // '', qr/\bauthorization\b/,
    'preflight: Access-Control-Allow-Headers has authorization';

done_testing;
