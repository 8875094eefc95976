#!/usr/bin/perl
# Kept-alive PostgreSQL connections expire as nginx's upstream keepalive
# connections do: after keepalive_timeout without use, after
# keepalive_requests statements, after keepalive_time; a connection's log
# lines name the request it works for; the new directives are checked when
# the configuration is read.

use strict;
use warnings;
use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use Dash;
use Dash::Lock;
use Dash::Raw qw(send_request read_response);
use Time::HiRes qw(sleep);

my $t = Dash->new(workers => 1, pool_size => 1,
                  database_extra => "keepalive_requests 3;");
my $w = $t->world;
my $list = "/api/projects/$w->{project}/dashboards/";

sub backend_pids {
    return [ map { $_->[0] } @{ $t->sql(
        "SELECT pid FROM pg_stat_activity WHERE application_name = 'ngx_dashboards'"
        . " AND datname = current_database() ORDER BY pid") } ];
}

# ---------------------------------------------------------------------------
# keepalive_requests 3: the first request sends two statements (the key's
# lookup, then the list), the second one the list only: the connection has
# served three and is closed when it comes back to the pool; the third
# request opens a new one.

is $t->api(GET => $list)->{status}, 200, 'keepalive_requests: first request';
my $first = backend_pids();
is scalar(@$first), 1, 'one backend after two statements';

is $t->api(GET => $list)->{status}, 200, 'second request (third statement)';
ok $t->wait_until(sub { $t->pg_backends == 0 }, timeout => 10),
    'the connection is closed after its third statement';

is $t->api(GET => $list)->{status}, 200, 'third request answers on a new connection';
my $second = backend_pids();
is scalar(@$second), 1, 'one backend again';
isnt $second->[0], $first->[0], 'and it is another backend';

# ---------------------------------------------------------------------------
# keepalive_timeout: an idle connection is closed after it

$t->reload(database_extra => "keepalive_timeout 1s;", lock_timeout => 'off');
is $t->api(GET => $list)->{status}, 200, 'keepalive_timeout 1s: a request';
is $t->pg_backends, 1, 'its connection is kept';
ok $t->wait_until(sub { $t->pg_backends == 0 }, timeout => 10),
    'and closed once idle for a second';
is $t->api(GET => $list)->{status}, 200, 'the next request opens another';

# a connection in use is not closed by keepalive_timeout: a request
# waiting 2 s on a row lock still gets its answer

my $d = $t->fixture_dashboard(team => $w->{team}, user => $w->{user}, name => 'Hot');
{
    my $lock = Dash::Lock->new($t, $d);
    my $s = send_request($t, PATCH => "/api/projects/$w->{project}/dashboards/$d/",
                         { name => 'Cold' });
    sleep 2.5;
    $lock->release;
    my $r = read_response($s);
    is $r->{status}, 200, 'a statement waiting longer than keepalive_timeout is answered'
        or diag $r->{raw};
    is $t->sql_value('SELECT name FROM posthog_dashboard WHERE id = $1', $d), 'Cold',
        'and its change is written';
}

# ---------------------------------------------------------------------------
# keepalive_time: a connection older than it is closed when it comes back

$t->reload(database_extra => "keepalive_time 1s;", lock_timeout => undef);
is $t->api(GET => $list)->{status}, 200, 'keepalive_time 1s: a request';
my $old = backend_pids();
is scalar(@$old), 1, 'one backend';
sleep 1.2;
is $t->api(GET => $list)->{status}, 200, 'a request after a second';
ok $t->wait_until(sub { $t->pg_backends == 0 }, timeout => 10),
    'the connection, older than keepalive_time, is closed after it';
is $t->api(GET => $list)->{status}, 200, 'and the next request opens another';
isnt backend_pids()->[0], $old->[0], 'another backend';

# ---------------------------------------------------------------------------
# the log lines of a connection name the request it works for: a statement
# timed out by the module (statement_timeout off) is logged with the request

$t->reload(database_extra => "statement_timeout off;", query_timeout => '1s',
           lock_timeout => 'off');
$t->allow_log(qr/PostgreSQL query timed out/);
{
    my $lock = Dash::Lock->new($t, $d);
    my $from = $t->log_offset;
    my $r = $t->api(PATCH => "/api/projects/$w->{project}/dashboards/$d/",
                    body => { name => 'Warm' });
    is $r->{status}, 504, 'a statement past query_timeout: 504';
    is $r->{json}{code}, 'database_timeout', 'database_timeout';
    like $t->error_log(from => $from),
        qr/PostgreSQL query timed out.*request: "PATCH \/api\/projects\/$w->{project}\/dashboards\/$d\/ HTTP/,
        'the log line names the request';
    $lock->release('ROLLBACK');
}
$t->reload(database_extra => undef, query_timeout => undef, lock_timeout => undef);
is $t->api(GET => $list)->{status}, 200, 'back to the defaults';

# ---------------------------------------------------------------------------
# configuration checks

my @bad = (
    [ 'keepalive_requests 0', database_extra => 'keepalive_requests 0;',
      qr/invalid value "0" in "keepalive_requests"/ ],
    [ 'keepalive_timeout abc', database_extra => 'keepalive_timeout abc;',
      qr/invalid value "abc" in "keepalive_timeout"/ ],
    [ 'keepalive_time 0', database_extra => 'keepalive_time 0;',
      qr/invalid value "0" in "keepalive_time"/ ],
    [ 'dashboards_queries_per_request 0',
      location_extra => 'dashboards_queries_per_request 0;',
      qr/"dashboards_queries_per_request" must be at least 1/ ],
    [ 'dashboards_events naming no database',
      location_extra => 'dashboards_events nosuch;',
      qr/no primary "server" in dashboards_database "nosuch"/ ],
    [ 'dashboards_events twice',
      location_extra => "dashboards_events main;\ndashboards_events main;",
      qr/"dashboards_events" directive is duplicate/ ],
);

for my $b (@bad) {
    my ($name, $k, $v, $re) = @$b;
    $t->write_conf(database_extra => undef, location_extra => undef, $k => $v);
    my ($ok, $out) = $t->test_conf;
    ok !$ok, "$name: refused";
    like $out, $re, "$name: says why";
}

$t->write_conf(location_extra => "dashboards_events main;\ndashboards_queries_per_request 2;",
               database_extra => "keepalive_requests 5;\nkeepalive_timeout 30s;\nkeepalive_time 10m;");
ok(($t->test_conf)[0], 'valid values pass nginx -t');
$t->reload(location_extra => undef, database_extra => undef);

done_testing;
