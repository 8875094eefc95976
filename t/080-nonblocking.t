#!/usr/bin/perl
# The worker never waits for PostgreSQL: with one worker process, a PATCH
# blocked inside PostgreSQL on a row lock held by another session does not
# keep the same nginx from answering other requests on other pooled
# connections. With a pool of one connection the other requests wait in the
# queue instead, and are answered (not failed) once the lock goes away.

use strict;
use warnings;
use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use Dash;
use Dash::Lock qw(lock_waiters);
use Dash::Raw qw(send_request answered read_response);

# the PATCHes wait on row locks for longer than the default lock_timeout on
# purpose (t/096-pool-hardening.t tests lock_timeout itself)
my $t = Dash->new(workers => 1, lock_timeout => 'off');
is scalar($t->worker_pids), 1, 'one worker process';

my $w = $t->world;
my $d = $t->fixture_dashboard(team => $w->{team}, user => $w->{user}, name => 'Before');
my $other = $t->fixture_dashboard(team => $w->{team}, user => $w->{user}, name => 'Other');
my $list = "/api/projects/$w->{project}/dashboards/";
my $one  = "/api/projects/$w->{project}/dashboards/$d/";

# warm up: the worker has a connection and the key in its auth cache
is $t->api(GET => $list)->{status}, 200, 'list answers before the test';

# --- default pool: the blocked PATCH occupies one connection, others serve GETs

{
    my $lock = Dash::Lock->new($t, $d);
    my $patch = send_request($t, PATCH => $one, { name => 'After' });

    ok $t->wait_until(sub { lock_waiters($t) >= 1 }, timeout => 10),
        'the PATCH waits for the row lock inside PostgreSQL';
    ok !answered($patch, 0.2), 'the PATCH has no answer while the lock is held';

    my $r = $t->api(GET => $list);
    is $r->{status}, 200, 'GET list answers while the PATCH waits';
    is $r->{json}{count}, 2, 'the list has both dashboards';

    $r = $t->api(GET => $one);
    is $r->{status}, 200, 'GET retrieve of the locked dashboard answers while the PATCH waits';
    is $r->{json}{name}, 'Before', 'and shows the row before the update';

    $r = $t->api(PATCH => "/api/projects/$w->{project}/dashboards/$other/", body => { name => 'Other 2' });
    is $r->{status}, 200, 'a PATCH of another dashboard answers while the first waits';
    is $r->{json}{name}, 'Other 2', 'with its new name';

    my $res = $t->burst(6, GET => $list);
    is scalar(grep { $_->{status} == 200 } @$res), 6, 'six concurrent GETs all answer 200 meanwhile';

    ok !answered($patch, 0), 'the PATCH still has no answer after all of these';
    is lock_waiters($t), 1, 'and still waits for the lock';

    $lock->release;
    $r = read_response($patch);
    is $r->{status}, 200, 'the PATCH answers 200 once the lock is released';
    is $r->{json}{name}, 'After', 'with the new name';
    is $t->row(posthog_dashboard => $d)->{name}, 'After', 'the row is updated';
    is $t->row(posthog_dashboard => $other)->{name}, 'Other 2', 'the other row is updated too';

    cmp_ok $t->pg_backends, '<=', 8, 'no more backends than pool_size';
}

# --- pool of one connection: the GET queues behind the blocked PATCH

$t->reload(pool_size => 1, queue_size => 100);
is scalar($t->worker_pids), 1, 'one worker after the reload';
is $t->api(GET => $list)->{status}, 200, 'pool_size 1: list answers';
ok $t->wait_until(sub { $t->pg_backends == 1 }), 'one backend for the new worker';

{
    my $lock = Dash::Lock->new($t, $d);
    my $patch = send_request($t, PATCH => $one, { name => 'Queued after' });
    ok $t->wait_until(sub { lock_waiters($t) >= 1 }, timeout => 10),
        'pool_size 1: the PATCH holds the only connection, waiting for the lock';

    my $get = send_request($t, GET => $list);
    my $get2 = send_request($t, GET => $one);
    ok !answered($get, 0.5), 'the GET list waits in the queue while the lock is held';
    ok !answered($get2, 0), 'so does a GET retrieve';
    ok !answered($patch, 0), 'and the PATCH is not answered either';
    is $t->pg_backends, 1, 'still one backend: the pool is not exceeded';

    $lock->release;

    my $rp = read_response($patch);
    my $rg = read_response($get);
    my $rg2 = read_response($get2);
    is $rp->{status}, 200, 'the PATCH answers 200 after the release';
    is $rp->{json}{name}, 'Queued after', 'with the new name';
    is $rg->{status}, 200, 'the queued GET list gets its answer (not an error)';
    is $rg->{json}{count}, 2, 'the full list';
    is $rg2->{status}, 200, 'the queued GET retrieve gets its answer';
    is $rg2->{json}{name}, 'Queued after', 'and sees the committed update';
    is $t->row(posthog_dashboard => $d)->{name}, 'Queued after', 'the row is updated';
    is $t->pg_backends, 1, 'one backend after all';
}

# --- pool of one: several requests queue behind the lock, answered in turn

{
    my $lock = Dash::Lock->new($t, $d);
    my $patch = send_request($t, PATCH => $one, { name => 'Third' });
    ok $t->wait_until(sub { lock_waiters($t) >= 1 }, timeout => 10), 'the PATCH waits for the lock again';

    my @gets = map { send_request($t, GET => $list) } 1 .. 5;
    ok !(grep { answered($_, 0) } @gets) && !answered($gets[0], 0.3), 'five queued GETs wait';
    $lock->release;
    is read_response($patch)->{status}, 200, 'the PATCH answers';
    my @st = map { read_response($_)->{status} } @gets;
    is_deeply \@st, [ (200) x 5 ], 'all five queued GETs answer 200';
    is $t->api(GET => $list)->{status}, 200, 'and the pool still works afterwards';
}

done_testing;
