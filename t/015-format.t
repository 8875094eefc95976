#!/usr/bin/perl
# ?format=json (the default), ?format=txt (a plain-text rendering, README.md)
# and unknown formats (404, as DRF's content negotiation answers).

use strict;
use warnings;
use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use Dash;

my $t = Dash->new;
my $w = $t->world;
my $P = $w->{project};
my $d = $t->fixture_dashboard(team => $w->{team}, user => $w->{user}, name => 'Sales',
                              tags => [qw(a b)]);
$t->fixture_text_tile(dashboard => $d, body => "first line\nsecond line",
                      layouts => { sm => { x => 0, y => 0, w => 6, h => 5 } });

my $r = $t->api(GET => "/api/projects/$P/dashboards/$d/?format=json");
is $r->{status}, 200, 'format=json: 200';
like $r->{content_type}, qr{^application/json}, 'format=json: JSON';
is $r->{json}{name}, 'Sales', 'format=json: the detail';

$r = $t->api(GET => "/api/projects/$P/dashboards/$d/?format=txt");
is $r->{status}, 200, 'format=txt: 200';
like $r->{content_type}, qr{^text/plain}, 'format=txt: text/plain';
like $r->{raw}, qr/^id: $d\nname: Sales\n/, 'top-level keys as "key: value" lines, in order';
like $r->{raw}, qr/^tags: a, b$/m, 'a list of strings on one line';
like $r->{raw}, qr/^tiles:\n  - id: \d+\n/m, 'a list of objects as indented items';
like $r->{raw}, qr/^      body: first line\n        second line$/m,
    'a multi-line string continues at its indentation';
like $r->{raw}, qr/^    layouts:\n      sm:\n/m, 'nested objects indented';
unlike $r->{raw}, qr/[{}"]\s*$/, 'no JSON left';

# the list answer is assembled from several buffers
$r = $t->api(GET => "/api/projects/$P/dashboards/?format=txt");
is $r->{status}, 200, 'list format=txt: 200';
like $r->{raw}, qr/^count: 1\nnext: null\nprevious: null\nresults:\n  - id: $d\n/,
    'list rendered whole';

# errors are rendered too
$r = $t->api(GET => "/api/projects/$P/dashboards/999999/?format=txt");
is $r->{status}, 404, 'format=txt error: 404';
is $r->{raw}, "type: invalid_request\ncode: not_found\ndetail: Not found.\nattr: null\n",
    'format=txt error body';

$r = $t->api(GET => "/api/projects/$P/dashboards/?format=xml");
is $r->{status}, 404, 'unknown format: 404';
is_deeply $r->{json}, { type => 'invalid_request', code => 'not_found', detail => 'Not found.',
                        attr => undef }, 'unknown format: JSON not found';

done_testing;
