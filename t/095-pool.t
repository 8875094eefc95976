#!/usr/bin/perl
# The per-worker keepalive pool: connections are reused across requests,
# idle connections stay open, the pool is per worker, and read replicas:
# GET list goes to a replica server, everything else to the primary.

use strict;
use warnings;
use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use Dash;
use Time::HiRes qw(sleep time);

# the module's backends on a database: [pid, backend_start, state, query] by pid
sub backends {
    my ($t, $app, $db) = @_;
    return $t->cluster->psql('postgres', q{
        SELECT pid, backend_start, state, query FROM pg_stat_activity
         WHERE application_name = $1 AND datname = $2 ORDER BY pid},
        $app // 'ngx_dashboards', $db // $t->db);
}

sub pids { join ',', map { $_->[0] } @{ backends(@_) } }

# ---------------------------------------------------------------------------
# reuse: one worker, sequential requests, one connection

my $t = Dash->new(workers => 1);
my $w = $t->world;
my $d = $t->fixture_dashboard(team => $w->{team}, user => $w->{user}, name => 'Primary');
my $list = "/api/projects/$w->{project}/dashboards/";
my $one  = "/api/projects/$w->{project}/dashboards/$d/";

is $t->pg_backends, 0, 'no backend before the first request';
my $r = $t->api(GET => $list);
is $r->{status}, 200, 'first request';
is $t->pg_backends, 1, 'one backend after it';
my $first = backends($t)->[0];

my @st;
for my $i (1 .. 20) {
    my @req = $i % 4 == 1 ? (GET => $list)
            : $i % 4 == 2 ? (GET => $one)
            : $i % 4 == 3 ? (PATCH => $one, body => { description => "round $i" })
            :               (GET => "/api/users/\@me/");
    push @st, $t->api(@req)->{status};
}
is_deeply \@st, [ (200) x 20 ], '20 sequential requests (list, retrieve, PATCH, @me) answer 200';
is $t->pg_backends, 1, 'exactly one backend after 20 sequential requests';
my $now = backends($t)->[0];
is $now->[0], $first->[0], 'the same backend pid';
is $now->[1], $first->[1], 'started at the same time (not reconnected)';
is $now->[2], 'idle', 'idle between requests';
is $t->row(posthog_dashboard => $d)->{description}, 'round 19', 'the PATCHes went through';

# without the worker's auth cache: twice the statements, still one connection
$t->reload(auth_cache_ttl => 0);
ok $t->wait_until(sub { $t->pg_backends == 0 }), 'the old worker\'s connection is closed after a reload';
@st = map { $t->api(GET => $list)->{status} } 1 .. 10;
is_deeply \@st, [ (200) x 10 ], 'auth_cache_ttl 0: 10 sequential requests';
is $t->pg_backends, 1, 'one backend';
$first = backends($t)->[0];

# idle connections survive
sleep 2;
$now = backends($t)->[0];
is $t->pg_backends, 1, 'the idle connection is still open after 2 s';
is $now->[0], $first->[0], 'same pid';
is $now->[2], 'idle', 'idle';
is $t->api(GET => $one)->{status}, 200, 'a request after the pause';
$now = backends($t)->[0];
is $t->pg_backends, 1, 'still one backend';
is $now->[0], $first->[0], 'the request used the kept-alive connection';
is $now->[1], $first->[1], 'not reconnected';

# concurrency opens more connections (at most pool_size); they stay open and
# sequential requests reuse them
$t->reload(auth_cache_ttl => undef, pool_size => 3);
ok $t->wait_until(sub { $t->pg_backends == 0 }), 'reload: connections of the old worker closed';
my $res = $t->burst(30, GET => $list);
is scalar(grep { $_->{status} == 200 } @$res), 30, 'pool_size 3: 30 concurrent requests answer 200';
my $n = $t->pg_backends;
cmp_ok $n, '>=', 1, "$n backends";
cmp_ok $n, '<=', 3, 'at most pool_size';
my $before = pids($t);
@st = map { $t->api(GET => $list)->{status} } 1 .. 10;
is_deeply \@st, [ (200) x 10 ], '10 sequential requests';
is pids($t), $before, 'the same backends: no connection opened or closed';
sleep 1;
is pids($t), $before, 'all idle connections still open a second later';

# one pool per worker
{
    my $t2 = Dash->new(workers => 2, pool_size => 2);
    is scalar($t2->worker_pids), 2, 'two workers';
    $t2->world;
    my $res = $t2->burst(40, GET => "/api/users/\@me/");
    is scalar(grep { $_->{status} == 200 } @$res), 40, 'two workers, pool_size 2: 40 concurrent requests answer 200';
    cmp_ok $t2->pg_backends, '<=', 4, 'at most pool_size per worker (4 backends)';
    cmp_ok $t2->pg_backends, '>=', 1, 'connections kept alive';
    $t2->finish;
}

# ---------------------------------------------------------------------------
# a read replica: the same database under another application_name

my $rt = Dash->new(workers => 1, replica => 1);
my $rw = $rt->world;
my $rd = $rt->fixture_dashboard(team => $rw->{team}, user => $rw->{user}, name => 'Replicated');
my $rlist = "/api/projects/$rw->{project}/dashboards/";
my $rone  = "/api/projects/$rw->{project}/dashboards/$rd/";
my $REP = 'ngx_dashboards_replica';

sub queries {
    my ($t, $app) = @_;
    return join ' | ', map { $_->[3] // '' } @{ backends($t, $app) };
}

is $rt->pg_backends, 0, 'replica setup: no primary backend yet';
is $rt->pg_backends($REP), 0, 'no replica backend yet';

$r = $rt->api(GET => $rlist);
is $r->{status}, 200, 'GET list';
is $r->{json}{count}, 1, 'the list';
is $rt->pg_backends($REP), 1, 'the list opened a connection to the replica';
like queries($rt, $REP), qr/ngx_dashboards_list/, 'the replica ran the list statement';
unlike queries($rt), qr/ngx_dashboards_list/, 'the primary did not';

$r = $rt->api(GET => $rone);
is $r->{status}, 200, 'GET retrieve';
is $r->{json}{name}, 'Replicated', 'the dashboard';
cmp_ok $rt->pg_backends, '>=', 1, 'the primary has a connection';
like queries($rt), qr/ngx_dashboards_retrieve/, 'retrieve ran on the primary';
like queries($rt, $REP), qr/ngx_dashboards_list/, 'the replica\'s last statement is still the list';

$r = $rt->api(PATCH => $rone, body => { name => 'Patched' });
is $r->{status}, 200, 'PATCH';
like queries($rt), qr/ngx_dashboards_update/, 'PATCH ran on the primary';
like queries($rt, $REP), qr/ngx_dashboards_list/, 'not on the replica';

$r = $rt->api(POST => $rlist, body => { name => 'Created' });
is $r->{status}, 201, 'POST create';
like queries($rt), qr/ngx_dashboards_create/, 'create ran on the primary';
unlike queries($rt, $REP), qr/ngx_dashboards_create/, 'not on the replica';

$r = $rt->api(GET => "/api/users/\@me/");
is $r->{status}, 200, 'GET @me';
unlike queries($rt, $REP), qr/ngx_dashboards_me/, '@me did not run on the replica';

@st = map { $rt->api(GET => $rlist)->{status} } 1 .. 5;
is_deeply \@st, [ (200) x 5 ], 'five more lists';
is $rt->pg_backends($REP), 1, 'one replica connection, kept alive and reused';
like queries($rt, $REP), qr/^[^|]*ngx_dashboards_list[^|]*$/, 'running the list';
is $rt->pg_backends, 1, 'one primary connection (auth, retrieve, PATCH, create)';
$rt->finish;

# ---------------------------------------------------------------------------
# a replica that is a different database: the answers show where they come from

{
    my $pt = Dash->new(workers => 1, start => 0);
    my $pw = $pt->world;
    my $pd = $pt->fixture_dashboard(team => $pw->{team}, user => $pw->{user}, name => 'On primary');
    my $repdb = $pt->db . '_r';
    my $c = $pt->cluster;
    $c->psql('postgres', qq{DROP DATABASE IF EXISTS "$repdb"});
    $c->kept_close($pt->db);        # a template has no other session
    $c->psql('postgres', qq{CREATE DATABASE "$repdb" TEMPLATE "${\ $pt->db}"});
    $c->psql($repdb, q{UPDATE posthog_dashboard SET name = 'On replica' WHERE id = $1}, $pd);
    $pt->write_conf(replicas => [ $c->conninfo($repdb, application_name => 'ngx_dashboards_r1'),
                                  $c->conninfo($repdb, application_name => 'ngx_dashboards_r2') ]);
    $pt->start;
    my $plist = "/api/projects/$pw->{project}/dashboards/";
    my $pone  = "/api/projects/$pw->{project}/dashboards/$pd/";

    my $r = $pt->api(GET => $plist);
    is $r->{status}, 200, 'two replicas: GET list';
    is $r->{json}{results}[0]{name}, 'On replica', 'the list comes from a replica';
    $r = $pt->api(GET => $pone);
    is $r->{status}, 200, 'GET retrieve';
    is $r->{json}{name}, 'On primary', 'retrieve comes from the primary';
    $r = $pt->api(PATCH => $pone, body => { description => 'written' });
    is $r->{status}, 200, 'PATCH';
    is $r->{json}{name}, 'On primary', 'PATCH answers from the primary';
    is $pt->row(posthog_dashboard => $pd)->{description}, 'written', 'and writes the primary';
    isnt $c->psql($repdb, 'SELECT description FROM posthog_dashboard WHERE id = $1', $pd)->[0][0] // '', 'written',
        'not the replica';

    my @names = map { $pt->api(GET => $plist)->{json}{results}[0]{name} // '' } 1 .. 4;
    is_deeply \@names, [ ('On replica') x 4 ], 'four more lists: all from the replicas';
    my $r1 = $c->psql('postgres', q{SELECT count(*) FROM pg_stat_activity
                                     WHERE application_name = 'ngx_dashboards_r1' AND datname = $1}, $repdb)->[0][0];
    my $r2 = $c->psql('postgres', q{SELECT count(*) FROM pg_stat_activity
                                     WHERE application_name = 'ngx_dashboards_r2' AND datname = $1}, $repdb)->[0][0];
    is "$r1 $r2", '1 1', 'both replicas serve lists (one connection each)';
    is $pt->pg_backends, 1, 'one primary connection';
    $pt->finish;
    $c->psql('postgres', qq{DROP DATABASE IF EXISTS "$repdb" WITH (FORCE)});
}

done_testing;
