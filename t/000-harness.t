#!/usr/bin/perl
# Smoke test of the harness itself: nginx starts with the module, the test
# database has the schema, fixtures work, the HTTP and SQL helpers work.

use strict;
use warnings;
use utf8;
use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use Dash;
use Digest::SHA qw(sha256_hex);

my $t = Dash->new;

ok $t->running, 'nginx started with the module';
ok scalar($t->worker_pids) >= 1, 'a worker runs';
like $t->error_log, qr/\S/, 'error.log is written';

# the template database carries the migrations
is $t->sql_value('SELECT 1 + $1', 1), 2, 'sql with a bind';
is $t->sql_value(q{SELECT to_regclass('posthog_dashboard') IS NOT NULL}), 't', 'schema applied';
is_deeply $t->sql('SELECT $1::text, $2::text, $3::int[]', "it's", undef, [1, 2]),
    [ [ "it's", undef, '{1,2}' ] ], 'quoting of binds, NULL';
is $t->sql_value('SELECT $1::text', "é\tü\nx"), "é\tü\nx", 'unicode, tab and newline round trip';

# $t->sql runs on a psql kept open (Dash::Cluster::psql_kept): what a call
# leaves in its session is gone at the next, an error stops its SQL where it
# is and the next call works, and a session whose backend is gone is replaced
my $pid = $t->sql_value('SELECT pg_backend_pid()');
is $t->sql_value('SELECT pg_backend_pid()'), $pid, 'sql: one session for the calls';
$t->sql(q{SET application_name = 'changed'; CREATE TEMP TABLE kept_tmp (x int)});
is $t->sql_value(q{SELECT current_setting('application_name')}), 'psql', '... a SET does not outlive its call';
is $t->sql_value(q{SELECT to_regclass('pg_temp.kept_tmp') IS NULL}), 't', '... nor a temp table';
$t->sql('CREATE TABLE kept_t (x int)');
ok !eval { $t->sql('INSERT INTO kept_t VALUES (1); SELECT 1/0; INSERT INTO kept_t VALUES (2)'); 1 },
    'an error: the call dies';
like $@, qr/division by zero/, '... with PostgreSQL\'s message';
is_deeply $t->sql('SELECT x FROM kept_t ORDER BY x'), [ [1] ], '... the statements before it ran, none after';
isnt $t->sql_value('SELECT pg_backend_pid()'), $pid, '... and the next call has a new session';
$pid = $t->sql_value('SELECT pg_backend_pid()');
$t->cluster->psql('postgres', 'SELECT pg_terminate_backend($1)', $pid);
$t->wait_until(sub { !$t->cluster->psql('postgres', 'SELECT 1 FROM pg_stat_activity WHERE pid = $1', $pid)->[0] });
is $t->sql_value('SELECT 3'), 3, 'a session whose backend was terminated: replaced';

# fixtures
my $w = $t->world;
like $w->{key}, qr/^phx_[0-9A-Za-z]{43}$/, 'world(): key';
ok $w->{org} && $w->{project} && $w->{user}, 'world(): org, project, user';
is $w->{team}, $w->{project}, 'team id = project id';
is $t->sql_value('SELECT secure_value FROM posthog_personalapikey WHERE user_id = $1', $w->{user}),
    'sha256$' . sha256_hex($w->{key}), 'key stored as sha256$hex';
is $t->sql_value('SELECT level FROM posthog_organizationmembership WHERE user_id = $1', $w->{user}),
    8, 'world() user is an admin';

my $d = $t->fixture_dashboard(team => $w->{team}, user => $w->{user}, name => 'Sales', tags => [qw(a b)]);
my ($tile, $text) = $t->fixture_text_tile(dashboard => $d, body => 'hello **world**',
                                           layouts => { sm => { x => 0, y => 0, w => 6, h => 5 } });
is $t->row(posthog_dashboard => $d)->{name}, 'Sales', 'fixture_dashboard';
is $t->sql_value('SELECT count(*) FROM posthog_taggeditem WHERE dashboard_id = $1', $d), 2, 'tags';
is_deeply $t->row(posthog_dashboardtile => $tile)->{layouts},
    { sm => { x => 0, y => 0, w => 6, h => 5 } }, 'fixture_text_tile layouts';
is $t->row(posthog_text => $text)->{body}, 'hello **world**', 'text body';

my $u2 = $t->fixture_user(org => $w->{org}, level => 1);
my $k2 = $t->fixture_key(user => $u2, scopes => ['dashboard:read'], scoped_teams => [ $w->{team} ]);
is_deeply $t->sql_row('SELECT scopes, scoped_teams FROM posthog_personalapikey WHERE id = $1', $t->key_id($k2)),
    { scopes => ['dashboard:read'], scoped_teams => [ $w->{team} ] }, 'fixture_key scopes';

# HTTP: nginx answers under /api/ (the module's own answer once routes exist)
my $r = $t->api(GET => '/api/unknown/');
isnt $r->{status}, 599, 'nginx answers HTTP' or diag $r->{error};
cmp_ok $r->{status}, '>=', 400, '/api/unknown/ is an error';
if ($r->{status} == 404 && $r->{content_type} =~ /json/) {
    ok ref $r->{json} eq 'HASH', '404 has a JSON body';
}
my $raw = Dash::parse_response($t->http_raw("GET /api/unknown/ HTTP/1.0\r\nHost: x\r\n\r\n"));
is $raw->{status}, $r->{status}, 'raw HTTP/1.0 request';

# parallel requests
my $res = $t->burst(6, GET => '/api/unknown/');
is scalar(@$res), 6, 'burst returns every response';
is scalar(grep { $_->{status} == $r->{status} } @$res), 6, 'all answered alike';

# nginx -t on a broken configuration: refused, and not held against the file
$t->write_conf(http_extra => 'no_such_directive on;');
my ($ok, $out) = $t->test_conf;
ok !$ok, 'test_conf refuses a bad configuration';
like $out, qr/no_such_directive/, 'and says why';
$t->write_conf(http_extra => undef);
ok(($t->test_conf)[0], 'the normal configuration passes nginx -t');

# a file of its own: private cluster, stop/start PostgreSQL under nginx
SKIP: {
    skip 'DASH_QUICK set', 4 if $ENV{DASH_QUICK};
    my $p = Dash->new(private_cluster => 1);
    isnt $p->pg_port, $t->pg_port, 'private cluster has its own port';
    $p->pg_stop;
    ok !eval { $p->sql('SELECT 1'); 1 }, 'pg_stop stops it';
    $p->pg_start;
    is $p->sql_value('SELECT 2'), 2, 'pg_start starts it again';
    is $p->pg_terminate_backends, 0 + $p->pg_terminate_backends, 'pg_terminate_backends counts';
}

# conf-examples/*.conf are accepted by nginx -t with the module
SKIP: {
    my $so = "$Dash::ROOT/build/ngx_http_dashboards_module.so";
    skip 'no openssl or no regular build', 1 unless -x '/usr/bin/openssl' && -f $so;
    my $out = `$Dash::ROOT/scripts/check-conf-examples $so 2>&1`;
    is $?, 0, 'conf-examples pass nginx -t' or diag $out;
}

eval { $t->pg_stop };
like $@, qr/private_cluster/, 'pg_stop refused on the shared cluster';

done_testing;
