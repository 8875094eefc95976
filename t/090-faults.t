#!/usr/bin/perl
# Faults between nginx and PostgreSQL, on a cluster of this file's own:
# PostgreSQL stopped and started under nginx, backends terminated, the query
# timeout, the connect timeout, the pool and queue limits, clients that go
# away mid-query, and prepared_statements off.

use strict;
use warnings;
use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use Dash;
use Dash::Lock qw(lock_waiters backend_alive backend_busy);
use Dash::Raw qw(send_request answered read_response);
use IO::Select;
use IO::Socket::INET;
use POSIX ();
use Time::HiRes qw(sleep time);

my $SLOW = Dash::sanitizer() eq 'valgrind' ? 10 : Dash::sanitizer() eq 'asan' ? 2 : 1;
$Dash::Raw::TIMEOUT = 20 * $SLOW;                  # read_response()

my %BODY = (
    unavailable => { type => 'server_error', code => 'database_unavailable',
                     detail => 'The database is unavailable. Please try again later.', attr => undef },
    timeout     => { type => 'server_error', code => 'database_timeout',
                     detail => 'The database did not answer in time.', attr => undef },
);

# ---------------------------------------------------------------------------
# helpers local to this file

# api() with the time it took
sub timed {
    my ($t, @args) = @_;
    my $t0 = time;
    my $r = $t->api(@args);
    return ($r, time - $t0);
}

# Count the module's backends over and over (in a child) while $cb runs;
# returns ($cb's result, the largest count seen, number of samples).
sub max_backends_during {
    my ($t, $cb) = @_;
    my $file = $t->prefix . "/sampler.$$";
    unlink $file;
    pipe(my $r, my $wr) or die "pipe: $!";
    my $pid = fork // die "fork: $!";
    if (!$pid) {
        close $wr;
        my ($max, $n) = (0, 0);
        my $sel = IO::Select->new($r);
        while (1) {
            my $c = eval { $t->pg_backends } // 0;
            $n++;
            $max = $c if $c > $max;
            last if $sel->can_read(0);          # EOF: the parent is done
        }
        open my $fh, '>', $file or POSIX::_exit(1);
        print $fh "$max $n\n";
        close $fh;
        POSIX::_exit(0);
    }
    close $r;
    sleep 0.1;
    my $res = $cb->();
    close $wr;
    waitpid $pid, 0;
    open my $fh, '<', $file or return ($res, undef, 0);
    my ($max, $n) = split ' ', scalar <$fh>;
    return ($res, $max, $n);
}

# ---------------------------------------------------------------------------

# statements here wait on row locks for longer than the default lock_timeout
# on purpose (t/096-pool-hardening.t tests lock_timeout itself)
my $t = Dash->new(private_cluster => 1, workers => 1, lock_timeout => 'off');
# what PostgreSQL going away makes nginx log is [error]/[info]; nothing
# here is allowed to reach [alert] or [crit]

my $w = $t->world;
my $d = $t->fixture_dashboard(team => $w->{team}, user => $w->{user}, name => 'Start');
my $list = "/api/projects/$w->{project}/dashboards/";
my $one  = "/api/projects/$w->{project}/dashboards/$d/";

is $t->api(GET => $list)->{status}, 200, 'list answers';
cmp_ok $t->pg_backends, '>=', 1, 'nginx holds a kept-alive connection';

# --- PostgreSQL stopped, then started under the same nginx --------------------

$t->pg_stop;
{
    my ($r, $dt) = timed($t, GET => $list);
    is $r->{status}, 503, 'PostgreSQL stopped: 503';
    is_deeply $r->{json}, $BODY{unavailable}, 'database_unavailable JSON body';
    like $r->{content_type}, qr{^application/json}, 'as JSON';
    cmp_ok $dt, '<', 4, 'answered at once, not after the 5 s connect_timeout';

    ($r, $dt) = timed($t, GET => $one);
    is $r->{status}, 503, 'retrieve: 503 as well';
    is_deeply $r->{json}, $BODY{unavailable}, 'database_unavailable';

    ($r, $dt) = timed($t, PATCH => $one, body => { name => 'While down' });
    is $r->{status}, 503, 'PATCH: 503 as well';
    is_deeply $r->{json}, $BODY{unavailable}, 'database_unavailable';

    my $res = $t->burst(10, GET => $list);
    is scalar(grep { $_->{status} == 503 && ($_->{json}{code} // '') eq 'database_unavailable' } @$res),
        10, '10 concurrent requests: all 503 database_unavailable';
}
$t->pg_start;
{
    my $r = $t->api(GET => $list);
    is $r->{status}, 200, 'PostgreSQL started again: 200 without reloading nginx';
    is $r->{json}{count}, 1, 'the list';
    $r = $t->api(PATCH => $one, body => { name => 'After restart' });
    is $r->{status}, 200, 'PATCH works again';
    is $t->row(posthog_dashboard => $d)->{name}, 'After restart', 'and updates the row';
}

# PostgreSQL restarted while nginx holds several idle connections
{
    my $res = $t->burst(6, GET => $list);
    is scalar(grep { $_->{status} == 200 } @$res), 6, 'six concurrent requests open connections';
    $t->pg_restart;
    my $r = $t->api(GET => $list);
    is $r->{status}, 200, 'after a PostgreSQL restart the next request answers 200';
    $res = $t->burst(8, GET => $one);
    is scalar(grep { $_->{status} == 200 } @$res), 8, 'and so do 8 concurrent ones';
}

# a request in flight when PostgreSQL stops
{
    my $lock = Dash::Lock->new($t, { pg_may_stop => 1 }, $d);
    my $patch = send_request($t, PATCH => $one, { name => 'In flight' });
    ok $t->wait_until(sub { scalar lock_waiters($t) }, timeout => 10), 'a PATCH waits for a row lock';
    $t->pg_stop;
    my $r = read_response($patch, 10 * $SLOW);
    is $r->{status}, 503, 'PostgreSQL stopped under it: 503';
    is_deeply $r->{json}, $BODY{unavailable}, 'database_unavailable';
    $lock->release;
    $t->pg_start;
    is $t->api(GET => $list)->{status}, 200, 'started again: 200';
    is $t->row(posthog_dashboard => $d)->{name}, 'After restart', 'the interrupted PATCH left no change';
}

# --- backends terminated ------------------------------------------------------

for my $round (1 .. 3) {
    my $res = $t->burst(4, GET => $list);
    is scalar(grep { $_->{status} == 200 } @$res), 4, "round $round: connections in the pool";
    cmp_ok $t->pg_terminate_backends, '>=', 1, "round $round: ngx_dashboards backends terminated";
    my $r = $t->api(GET => $list);
    is $r->{status}, 200, "round $round: the next request answers 200 (the dead connection is replaced)";
    is $r->{json}{count}, 1, "round $round: with the list";
    $r = $t->api(PATCH => $one, body => { name => "Terminated $round" });
    is $r->{status}, 200, "round $round: PATCH answers 200";
}
is $t->row(posthog_dashboard => $d)->{name}, 'Terminated 3', 'the PATCHes are in the row';

# Every kept-alive connection dead, and the worker not told yet: the request
# must not fail because its one retry went to another dead kept-alive
# connection. The worker is stopped (SIGSTOP) so that it sees, in this order,
# the rest of the request, then the end of connection A (the idle list's
# head), then that of B.
$t->reload(pool_size => 2);
{
    my $lock = Dash::Lock->new($t, { pg_may_stop => 1 }, $d);
    my $patch = send_request($t, PATCH => $one, { name => 'Two connections' });
    ok $t->wait_until(sub { scalar lock_waiters($t) }, timeout => 10), 'pool_size 2: a PATCH holds one connection';
    is $t->api(GET => $list)->{status}, 200, 'a GET opens the second';
    $lock->release;
    is read_response($patch)->{status}, 200, 'the PATCH answers';
    is $t->api(GET => $list)->{status}, 200, 'a GET on the most recently used connection';
    my @pids = map { $_->[0] } @{ $t->sql(q{SELECT pid FROM pg_stat_activity
        WHERE datname = current_database() AND application_name = 'ngx_dashboards'
        ORDER BY state_change DESC}) };
    is scalar(@pids), 2, 'two idle connections';

    my ($worker) = $t->worker_pids;
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $t->port, Proto => 'tcp')
        or die "connect: $!";
    syswrite $s, "GET $list HTTP/1.1\r\nHost: localhost\r\n";
    sleep 0.2;
    kill 'STOP', $worker;
    ok $t->wait_until(sub { proc_state($worker) eq 'T' }), 'worker stopped';
    syswrite $s, "Authorization: Bearer " . $t->key . "\r\nConnection: close\r\n\r\n";
    for my $pid (@pids) {
        $t->sql('SELECT pg_terminate_backend($1)', $pid);
        $t->wait_until(sub { !backend_alive($t, $pid) });
    }
    ok !(grep { backend_alive($t, $_) } @pids), 'both backends terminated while the worker was stopped';
    kill 'CONT', $worker;
    my $r = read_response($s);
    is $r->{status}, 200, 'the request answers 200: the retry went to a new connection'
        or diag $r->{raw};
    is $t->api(GET => $list)->{status}, 200, 'and the next one too';
    cmp_ok $t->pg_backends, '<=', 2, 'within pool_size';
}

# a backend terminated while its statement runs: a write that reached the
# server is not sent again (it might have committed: see
# t/096-pool-hardening.t), so the PATCH answers 503 and changes nothing
{
    my $before = $t->row(posthog_dashboard => $d)->{name};
    my $lock = Dash::Lock->new($t, { pg_may_stop => 1 }, $d);
    my $patch = send_request($t, PATCH => $one, { name => 'Retried' });
    my ($pid) = do { $t->wait_until(sub { scalar lock_waiters($t) }, timeout => 10); lock_waiters($t) };
    ok $pid, 'a PATCH waits for a row lock';
    cmp_ok $t->pg_terminate_backends, '>=', 1, 'its backend is terminated';
    my $r = read_response($patch);
    is $r->{status}, 503, 'the PATCH that reached the server is not sent again: 503';
    is_deeply $r->{json}, $BODY{unavailable}, 'database_unavailable';
    is scalar(() = lock_waiters($t)), 0, 'nothing waits for the lock';
    $lock->release;
    is $t->row(posthog_dashboard => $d)->{name}, $before, 'the row is unchanged';
    is $t->api(PATCH => $one, body => { name => 'Retried' })->{status}, 200,
        'the client sends it again: 200';
    is $t->row(posthog_dashboard => $d)->{name}, 'Retried', 'and updated the row';
}

# --- query_timeout --------------------------------------------------------------

$t->reload(query_timeout => '1s');
is $t->api(GET => $list)->{status}, 200, 'query_timeout 1s: list answers';
{
    my $before = $t->row(posthog_dashboard => $d)->{name};
    my $lock = Dash::Lock->new($t, { pg_may_stop => 1 }, $d);
    my $t0 = time;
    my $patch = send_request($t, PATCH => $one, { name => 'Too late' });
    $t->wait_until(sub { scalar lock_waiters($t) }, timeout => 5);
    my ($pid) = lock_waiters($t);
    ok $pid, 'the PATCH waits for a row lock';
    my $r = read_response($patch);
    my $dt = time - $t0;
    is $r->{status}, 504, 'query_timeout: 504';
    is_deeply $r->{json}, $BODY{timeout}, 'database_timeout JSON body';
    cmp_ok $dt, '>=', 0.9, 'not before the query_timeout';
    cmp_ok $dt, '<', 3 * $SLOW, 'in about one second';

    # the statement must not go on running (and commit once the lock is
    # released): PostgreSQL cancels it at query_timeout (statement_timeout),
    # the backend either closes or stays idle in the pool
    ok $t->wait_until(sub { !backend_busy($t, $pid) }, timeout => 2),
        'the timed-out statement no longer runs (the lock is still held)'
        or diag $t->sql_value(q{SELECT string_agg(pid || ' ' || application_name || ' ' || state || ' '
                                       || coalesce(wait_event_type, '-'), '; ')
                                  FROM pg_stat_activity WHERE datname = current_database()});

    $r = $t->api(GET => $list);
    is $r->{status}, 200, 'the next request works (lock still held)';
    $r = $t->api(GET => $one);
    is $r->{status}, 200, 'retrieve of the locked dashboard works';
    cmp_ok scalar(() = lock_waiters($t)), '==', 0, 'no module backend waits for the lock any more';

    $lock->release;
    sleep 0.3;
    is $t->row(posthog_dashboard => $d)->{name}, $before,
        'the PATCH answered 504 did not change the row after the lock was released';
    $r = $t->api(PATCH => $one, body => { name => 'In time' });
    is $r->{status}, 200, 'a PATCH without a lock answers 200 under query_timeout 1s';
    is $t->row(posthog_dashboard => $d)->{name}, 'In time', 'and updates the row';
}

# --- connect_timeout: a server that accepts TCP but never speaks ---------------

{
    my $hole = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0, Listen => 64,
                                     Proto => 'tcp', ReuseAddr => 1) or die "listen: $!";
    my $port = $hole->sockport;
    $t->reload(primary => "host=127.0.0.1 port=$port dbname=x user=postgres sslmode=disable "
                          . "application_name=ngx_dashboards_hole connect_timeout=30",
               connect_timeout => '1s', query_timeout => undef);
    my ($r, $dt) = timed($t, GET => $list);
    is $r->{status}, 503, 'connect_timeout: 503';
    is_deeply $r->{json}, $BODY{unavailable}, 'database_unavailable JSON body';
    cmp_ok $dt, '>=', 0.9, 'after the connect_timeout';
    cmp_ok $dt, '<', 4 * $SLOW, 'in about one second';
    my $res = $t->burst(3, GET => $list);
    is scalar(grep { $_->{status} == 503 && ($_->{json}{code} // '') eq 'database_unavailable' } @$res),
        3, 'three concurrent requests: all 503 database_unavailable';
    close $hole;
}

# --- pool_size: never more backends than the pool ------------------------------

$t->reload(primary => undef, connect_timeout => undef, pool_size => 4);
is scalar($t->worker_pids), 1, 'pool_size 4, one worker';
is $t->api(GET => $list)->{status}, 200, 'back on the real server: 200';
ok $t->wait_until(sub { $t->pg_backends <= 4 }), 'the old worker\'s connections are gone';
{
    my ($res, $max, $n) = max_backends_during($t, sub { $t->burst(200, GET => $list) });
    is scalar(@$res), 200, '200 concurrent requests';
    my %st;
    $st{ $_->{status} }++ for @$res;
    is_deeply \%st, { 200 => 200 }, 'all answer 200';
    ok !(grep { $_->{status} == 200 && ($_->{json}{count} // -1) != 1 } @$res), 'with the list';
    cmp_ok $n, '>', 0, "pg_stat_activity sampled during the burst ($n samples)";
    cmp_ok $max, '<=', 4, "never more than 4 ngx_dashboards backends (max seen $max)";
    cmp_ok $t->pg_backends, '<=', 4, 'and at most 4 afterwards';
    cmp_ok $t->pg_backends, '>=', 1, 'kept alive';
}

# --- the wait queue: full, and its timeout ----------------------------------------

$t->reload(pool_size => 1, queue_size => 2, queue_timeout => '1s');
is $t->api(GET => $list)->{status}, 200, 'pool_size 1, queue_size 2, queue_timeout 1s: list answers';
{
    my $lock = Dash::Lock->new($t, { pg_may_stop => 1 }, $d);
    my $patch = send_request($t, PATCH => $one, { name => 'Queue holder' });
    ok $t->wait_until(sub { scalar lock_waiters($t) }, timeout => 5),
        'the only connection is blocked on a row lock';

    my @s = map { send_request($t, GET => $list) } 1 .. 5;
    my $sel = IO::Select->new(@s);
    my (%resp, @order);
    my $deadline = time + 10 * $SLOW;
    my %buf;
    while ($sel->count && time < $deadline) {
        for my $s ($sel->can_read(0.5)) {
            my $n = sysread($s, $buf{$s}, 65536, length($buf{$s} // ''));
            next if $n;
            $sel->remove($s);
            my $r = Dash::parse_response($buf{$s} // '');
            push @order, $r;
            close $s;
        }
    }
    is scalar(@order), 5, 'all five extra requests are answered while the lock is held';
    is scalar(grep { $_->{status} == 503 } @order), 5, 'all with 503';
    my @bodies_ok = grep {
        my $j = $_->{json};
        ref $j eq 'HASH' && join(',', sort keys %$j) eq 'attr,code,detail,type'
            && $j->{type} eq 'server_error' && $j->{code} eq 'database_busy'
            && !defined $j->{attr} && $j->{detail} =~ /\S/
    } @order;
    is scalar(@bodies_ok), 5, 'all with a server_error/database_busy JSON body'
        or diag explain [ map { $_->{raw} } @order ];
    my @kind = map { ($_->{json}{detail} // '') =~ /timed out/i ? 'timeout' : 'full' } @order;
    is_deeply \@kind, [ qw(full full full timeout timeout) ],
        'three refused at once (queue full), then two after the queue timeout';
    ok !answered($patch, 0), 'the PATCH still waits';
    $lock->release;
    my $r = read_response($patch);
    is $r->{status}, 200, 'the PATCH answers 200 once the lock is released';
    is $t->api(GET => $list)->{status}, 200, 'and the next request works';
    is $t->pg_backends, 1, 'one backend';
}

# --- clients that go away --------------------------------------------------------

$t->reload(pool_size => 1, queue_size => 10, queue_timeout => '5s');
is $t->api(GET => $list)->{status}, 200, 'pool_size 1: list answers';
{
    # mid-query: the client closes while its PATCH waits for a lock
    my $lock = Dash::Lock->new($t, { pg_may_stop => 1 }, $d);
    my $patch = send_request($t, PATCH => $one, { name => 'Abandoned' });
    ok $t->wait_until(sub { scalar lock_waiters($t) }, timeout => 5), 'a PATCH waits for a row lock';
    close $patch;
    sleep 0.2;
    $lock->release;

    my ($r, $dt) = timed($t, GET => $list);
    is $r->{status}, 200, 'client gone mid-query: the next request answers 200 on the pool of one';
    cmp_ok $dt, '<', 4, 'without waiting for the queue timeout (the connection came back)';
    my $res = $t->burst(10, GET => $one);
    is scalar(grep { $_->{status} == 200 } @$res), 10, '10 concurrent requests answer 200';
    is $t->pg_backends, 1, 'one backend: no connection leaked';
    is scalar(() = lock_waiters($t)), 0, 'nothing waits in PostgreSQL';
}
{
    # in the queue: the client closes while its request waits for a connection
    my $lock = Dash::Lock->new($t, { pg_may_stop => 1 }, $d);
    my $patch = send_request($t, PATCH => $one, { name => 'Holder' });
    ok $t->wait_until(sub { scalar lock_waiters($t) }, timeout => 5), 'the only connection waits for a lock';
    my @q = map { send_request($t, GET => $list) } 1 .. 3;
    ok !answered($q[0], 0.3), 'requests wait in the queue';
    close $_ for @q;
    sleep 0.2;
    $lock->release;
    my $r = read_response($patch);
    is $r->{status}, 200, 'the PATCH answers 200';
    ($r, my $dt) = timed($t, GET => $list);
    is $r->{status}, 200, 'after queued clients went away the next request answers 200';
    cmp_ok $dt, '<', 4, 'without waiting for the queue timeout';
    is $t->pg_backends, 1, 'one backend';
}
{
    # a client that closes before its statement is prepared, on a fresh pool
    # (the statements of this worker's connections are logged from here on)
    $t->sql(qq{ALTER DATABASE "${\ $t->db}" SET log_statement = 'all'});
    $t->reload(pool_size => 2, queue_size => undef, queue_timeout => undef, prepared_statements => 'on');
    my @s = map { send_request($t, GET => $list) } 1 .. 20;
    close $_ for @s;
    sleep 0.5;
    my $res = $t->burst(10, GET => $list);
    is scalar(grep { $_->{status} == 200 } @$res), 10, 'after 20 clients closed at once, requests answer 200';
    cmp_ok $t->pg_backends, '<=', 2, 'within pool_size';
}

# --- prepared_statements ------------------------------------------------------------

{
    my $off0 = $t->pg_log_offset;
    is $t->api(GET => $list)->{status}, 200, 'prepared_statements on: list';
    is $t->api(GET => $one)->{status}, 200, 'retrieve';
    sleep 0.2;
    my $txt = $t->pg_log(from => $off0);
    like $txt, qr/ngx_dashboards\s+LOG:\s+execute ngxd_list/, 'on: the list runs as the named statement ngxd_list';
    like $txt, qr/ngx_dashboards\s+LOG:\s+execute ngxd_retrieve/, 'on: retrieve as ngxd_retrieve';

    $t->reload(prepared_statements => 'off');
    my $off1 = $t->pg_log_offset;
    my $r = $t->api(GET => $list);
    is $r->{status}, 200, 'prepared_statements off: list';
    is $r->{json}{count}, 1, 'with the list';
    $r = $t->api(GET => $one);
    is $r->{status}, 200, 'retrieve';
    $r = $t->api(PATCH => $one, body => { name => 'Unprepared' });
    is $r->{status}, 200, 'PATCH';
    is $t->row(posthog_dashboard => $d)->{name}, 'Unprepared', 'the row is updated';
    my $res = $t->burst(8, GET => $list);
    is scalar(grep { $_->{status} == 200 } @$res), 8, 'concurrent requests';
    $t->pg_terminate_backends;
    is $t->api(GET => $list)->{status}, 200, 'a terminated backend is replaced with prepared_statements off';
    sleep 0.2;
    $txt = $t->pg_log(from => $off1);
    like $txt, qr/ngx_dashboards\s+LOG:\s+execute <unnamed>: SELECT count, results FROM\s+ngx_dashboards\.ngx_dashboards_list/,
        'off: the list runs as an unnamed statement';
    unlike $txt, qr/ngx_dashboards\s+LOG:\s+execute ngxd_/, 'off: no named statement is executed';
    $t->sql(qq{ALTER DATABASE "${\ $t->db}" RESET log_statement});
}

sub proc_state {
    my ($pid) = @_;
    open my $fh, '<', "/proc/$pid/stat" or return '';
    my $st = <$fh> // '';
    return $st =~ /\)\s+(\S)/ ? $1 : '';
}

done_testing;
