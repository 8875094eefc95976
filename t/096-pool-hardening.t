#!/usr/bin/perl
# The connection layer under faults: libpq replacing its socket while it
# connects (a multi-host conninfo whose first host refuses), statements on a
# connection that dies (a write is sent again only when it never reached the
# server), and row locks held elsewhere (lock_timeout bounds the wait, so one
# hot row cannot take the whole pool).

use strict;
use warnings;
use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use Dash;
use Dash::Cluster;
use Dash::Lock qw(lock_waiters);
use Dash::Raw qw(send_request answered read_response);
use IO::Select;
use IO::Socket::INET;
use POSIX ();
use File::Temp ();
use Time::HiRes qw(sleep time);

my $SLOW = Dash::sanitizer() eq 'valgrind' ? 10 : Dash::sanitizer() eq 'asan' ? 2 : 1;
$Dash::Raw::TIMEOUT = 20 * $SLOW;

my %BODY = (
    unavailable => { type => 'server_error', code => 'database_unavailable',
                     detail => 'The database is unavailable. Please try again later.', attr => undef },
);

my $t = Dash->new(workers => 1);
my $w = $t->world;
my $d = $t->fixture_dashboard(team => $w->{team}, user => $w->{user}, name => 'Hot');
my $list = "/api/projects/$w->{project}/dashboards/";
my $one  = "/api/projects/$w->{project}/dashboards/$d/";
my $db = $t->db;
my $host = $t->pg_host;
my $port = $t->pg_port;

# ---------------------------------------------------------------------------
# libpq replaces its socket while connecting: the first host of the
# conninfo refuses (a closed port); libpq then closes that socket and opens
# one to the next host, usually under the same descriptor number. The new
# socket must be watched: the request answers from the second host instead
# of waiting for connect_timeout (and nginx logs no failed epoll_ctl).

my $closed = Dash::Cluster::free_port();
my $app = 'application_name=ngx_dashboards';

my @multi = (
    [ 'a closed port, then the unix socket',
      "host=127.0.0.1,$host port=$closed,$port dbname=$db user=postgres $app" ],
    [ 'a closed port, then TCP',
      "host=127.0.0.1,127.0.0.1 port=$closed,$port dbname=$db user=postgres sslmode=disable $app" ],
);

for my $m (@multi) {
    my ($name, $ci) = @$m;
    $t->reload(primary => $ci, connect_timeout => '20s');
    my $from = $t->log_offset;
    my $r = $t->api(GET => $list);
    is $r->{status}, 200, "$name: 200 from the second host (not 503 after connect_timeout)"
        or diag $r->{raw};
    is $r->{json}{count}, 1, "$name: with the list";
    my $res = $t->burst(4, GET => $one);
    is scalar(grep { $_->{status} == 200 } @$res), 4, "$name: four concurrent requests answer 200";
    unlike $t->error_log(from => $from), qr/\[alert\]|epoll_ctl/, "$name: no epoll_ctl alert logged";
}

# ---------------------------------------------------------------------------
# Host names are resolved when the configuration is read
# (src/ngx_http_dashboards_conninfo.c), as nginx resolves an upstream's
# servers: libpq gets each address as hostaddr, which it never resolves, so
# a worker never waits on getaddrinfo(). A name that does not resolve stops
# nginx -t; addresses, socket directories and a conninfo with hostaddr are
# left as they are.

my $named = "port=$port dbname=$db user=postgres sslmode=disable application_name=ngx_dashboards_named";
{
    $t->write_conf(primary => "host=localhost $named");
    my ($ok, $out) = $t->test_conf;
    ok $ok, 'host=localhost: nginx -t passes' or diag $out;
    like $out, qr/\[notice\].*host "localhost" resolved to [^;]*\b127\.0\.0\.1\b[^;]*; a change of its addresses takes a reload/,
        '... and says what the name resolved to';
    $t->reload(primary => "host=localhost $named");
    my $r = $t->api(GET => $list);
    is $r->{status}, 200, '... requests are answered' or diag $r->{raw};
    is $t->sql_value(q{SELECT count(*) FROM pg_stat_activity
                        WHERE application_name = 'ngx_dashboards_named' AND client_addr = '127.0.0.1'}), 1,
        '... over TCP to the address it resolved to';

    # a name among a socket directory and an address, with a port each
    $t->write_conf(primary => "host=$host,localhost,127.0.0.1 port=$closed,$port,$closed dbname=$db user=postgres sslmode=disable application_name=ngx_dashboards_named");
    ($ok, $out) = $t->test_conf;
    ok $ok, 'a socket directory, a name and an address with a port each: nginx -t passes' or diag $out;
    $t->reload(primary => "host=$host,localhost,127.0.0.1 port=$closed,$port,$closed dbname=$db user=postgres sslmode=disable application_name=ngx_dashboards_named",
               connect_timeout => '20s');
    $r = $t->api(GET => $list);
    is $r->{status}, 200, '... the name\'s port goes with its address (the others are closed)' or diag $r->{raw};

    for my $c ([ 'host=127.0.0.1', 'an address' ], [ "host=$host", 'a socket directory' ],
               [ 'host=localhost hostaddr=127.0.0.1', 'a conninfo with hostaddr' ]) {
        $t->write_conf(primary => "$c->[0] $named", connect_timeout => undef);
        ($ok, $out) = $t->test_conf;
        ok $ok, "$c->[1]: nginx -t passes" or diag $out;
        unlike $out, qr/resolved to/, '... nothing resolved';
    }

    $t->write_conf(primary => "host='no such host' $named");
    ($ok, $out) = $t->test_conf;
    ok !$ok, 'a name that does not resolve: nginx -t fails';
    like $out, qr/\[emerg\].*host not found of "no such host" in conninfo/, '... saying which host';

    $t->write_conf(primary => "host=localhost,127.0.0.1 port=$port,$port,$port dbname=$db user=postgres");
    ($ok, $out) = $t->test_conf;
    ok !$ok, 'three ports for two hosts: nginx -t fails';
    like $out, qr/could not match 3 port numbers to 2 hosts/, '... with libpq\'s words';
}

$t->reload(primary => undef, connect_timeout => undef);
is $t->api(GET => $list)->{status}, 200, 'back on the plain conninfo';

# ---------------------------------------------------------------------------
# lock_timeout: PATCHes of a row locked by another session give up after
# lock_timeout (1s by default) with a JSON 503, instead of holding their
# pooled connections until the lock goes away; more PATCHes than the pool
# has connections, and an unrelated GET still gets a connection and 200.

$t->reload(pool_size => 2, queue_size => 100, queue_timeout => '10s');
is $t->api(GET => $list)->{status}, 200, 'pool_size 2: list answers';
{
    my $lock = Dash::Lock->new($t, $d);
    my @patch = map { send_request($t, PATCH => $one, { name => "Hot $_" }) } 1 .. 6;
    ok $t->wait_until(sub { lock_waiters($t) >= 1 }, timeout => 10 * $SLOW),
        'PATCHes wait for the row lock';
    my $r = $t->api(GET => $list);
    is $r->{status}, 200, 'six PATCHes of a locked row, pool of two: an unrelated GET answers 200'
        or diag $r->{raw};
    is $r->{json}{count}, 1, 'with the list';
    $r = $t->api(GET => $one);
    is $r->{status}, 200, 'and so does a GET of the locked dashboard';
    my @r = map { read_response($_) } @patch;
    is scalar(grep { $_->{status} == 503 } @r), 6, 'every PATCH answers 503 while the lock is held'
        or diag explain [ map { $_->{raw} } @r ];
    is scalar(grep { ($_->{headers}{'content-type'} // '') =~ m{^application/json} } @r), 6,
        'as JSON';
    is_deeply [ map { $_->{json} } @r ], [ ({
        type => 'server_error', code => 'database_busy',
        detail => 'Another request is changing this object. Please try again later.',
        attr => undef }) x 6 ], 'server_error / database_busy';
    is scalar(() = lock_waiters($t)), 0, 'nothing waits for the lock in PostgreSQL any more';
    like $t->error_log, qr/\[warn\].*statement "ngxd_update" gave up waiting for a lock/,
        'the error log says which statement gave up';
    $lock->release;
    is $t->row(posthog_dashboard => $d)->{name}, 'Hot', 'no PATCH changed the row';
    $r = $t->api(PATCH => $one, body => { name => 'Cold' });
    is $r->{status}, 200, 'the lock released: a PATCH answers 200';
    is $t->row(posthog_dashboard => $d)->{name}, 'Cold', 'and changes the row';
    cmp_ok $t->pg_backends, '<=', 2, 'within pool_size';
}

# the directive
for my $v ('off', '250ms', '5s') {
    $t->write_conf(lock_timeout => $v);
    my ($ok, $out) = $t->test_conf;
    ok $ok, "lock_timeout $v is accepted" or diag $out;
}
for my $v ('0', 'soon') {
    $t->write_conf(lock_timeout => $v);
    my ($ok, $out) = $t->test_conf;
    ok !$ok, "lock_timeout $v is refused";
    like $out, qr/invalid value "\Q$v\E" in "lock_timeout"/, 'with a clear message';
}
$t->write_conf(lock_timeout => undef);

# ---------------------------------------------------------------------------
# A kept-alive connection that dies under a statement: a read is sent again
# on a new connection, a write only when it never reached the server. The
# connections go through a relay that, when armed, lets the first message
# matching a pattern through to PostgreSQL, waits for the whole answer
# (ReadyForQuery: the statement ran and committed) and then cuts both sides
# instead of passing the answer on.

my $relay_dir = File::Temp::tempdir(CLEANUP => 1);
my $relay = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0, Listen => 64,
                                  Proto => 'tcp', ReuseAddr => 1) or die "listen: $!";
my $relay_port = $relay->sockport;
my $relay_pid = fork // die "fork: $!";
if (!$relay_pid) {
    my $sel = IO::Select->new($relay);
    my (%peer, %doomed, %held);
    my $cut = sub {
        my ($s) = @_;
        my $o = delete $peer{$s};
        for my $x ($s, $o // ()) {
            $sel->remove($x);
            delete $peer{$x};
            delete $doomed{$x};
            delete $held{$x};
            close $x;
        }
        # the test knows when the end of a connection has been passed on
        open my $f, '>', "$relay_dir/closed"; close $f;
    };
    while (1) {
        for my $s ($sel->can_read(0.2)) {
            if ($s == $relay) {
                my $c = $relay->accept or next;
                my $pg = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port,
                                               Proto => 'tcp') or do { close $c; next };
                $peer{$c} = $pg;
                $peer{$pg} = $c;
                $doomed{$pg} = 0;                    # a server side
                $sel->add($c, $pg);
                next;
            }
            my $n = sysread($s, my $buf, 65536);
            if (!$n) { $cut->($s); next }
            if (exists $doomed{$s}) {               # from PostgreSQL
                if ($doomed{$s}) {
                    $held{$s} .= $buf;
                    # the statement is complete: cut instead of answering
                    if ($held{$s} =~ /Z\0\0\0\x05[ITE]\z/) {
                        open my $f, '>', "$relay_dir/fired"; close $f;
                        $cut->($s);
                    }
                    next;
                }
                syswrite $peer{$s}, $buf;
                next;
            }
            # from nginx
            if (open my $f, '<', "$relay_dir/arm") {
                my $re = do { local $/; <$f> };
                close $f;
                if ($buf =~ /$re/s) {
                    unlink "$relay_dir/arm";
                    $doomed{ $peer{$s} } = 1;
                }
            }
            syswrite $peer{$s}, $buf;
        }
    }
}
close $relay;

sub arm {
    my ($re) = @_;
    unlink "$relay_dir/fired";
    open my $f, '>', "$relay_dir/arm" or die $!;
    print $f $re;
    close $f;
}
sub fired { -e "$relay_dir/fired" }

$t->reload(primary => "host=127.0.0.1 port=$relay_port dbname=$db user=postgres sslmode=disable $app",
           pool_size => 1, lock_timeout => undef);
{
    my $r = $t->api(GET => $list);
    is $r->{status}, 200, 'through the relay: list answers';
    my $count = sub { $t->sql_value('SELECT count(*) FROM posthog_dashboard WHERE name = $1', $_[0]) };

    # a read that reached the server: sent again
    arm('B.{4}\0ngxd_list\0');
    $r = $t->api(GET => $list);
    ok fired(), 'the relay cut the connection after the list statement ran';
    is $r->{status}, 200, 'a read whose connection died after it ran is sent again: 200';
    is $r->{json}{count}, 1, 'with the list';

    # a write whose Execute never reached the server (the connection died
    # while the statement was being prepared): sent again, runs once
    arm('P.{4}ngxd_create\0');
    $r = $t->api(POST => $list, body => { name => 'Prepared lost' });
    ok fired(), 'the relay cut the connection after the create statement was prepared';
    is $r->{status}, 201, 'a write that never reached the server is sent again: 201';
    is $count->('Prepared lost'), 1, 'one dashboard created';

    # a write that reached the server and committed: not sent again
    arm('B.{4}\0ngxd_create\0');
    $r = $t->api(POST => $list, body => { name => 'Once' });
    ok fired(), 'the relay cut the connection after the create statement committed';
    is $r->{status}, 503, 'a write whose connection died after it reached the server: 503'
        or diag $r->{raw};
    is_deeply $r->{json}, $BODY{unavailable}, 'database_unavailable';
    is $count->('Once'), 1, 'the dashboard was created once, not twice';

    my $tile = $t->fixture_text_tile(dashboard => $d, body => 'copied');
    my $dest = $t->fixture_dashboard(team => $w->{team}, user => $w->{user}, name => 'Dest');
    is $t->api(GET => $list)->{status}, 200, 'a kept-alive connection again';
    arm('B.{4}\0ngxd_copy_tile\0');
    $r = $t->api(POST => "$list$dest/copy_tile/", body => { fromDashboardId => $d, tileId => $tile });
    ok fired(), 'the relay cut the connection after copy_tile committed';
    is $r->{status}, 503, 'copy_tile: 503' or diag $r->{raw};
    is $t->sql_value('SELECT count(*) FROM posthog_dashboardtile WHERE dashboard_id = $1', $dest), 1,
        'the tile was copied once, not twice';

    $r = $t->api(POST => $list, body => { name => 'After' });
    is $r->{status}, 201, 'the next write answers 201';
    is $count->('After'), 1, 'once';
}

# a kept-alive connection the server closed while it was idle, before the
# worker noticed: found dead before anything is sent, so even a write goes
# to a new connection (the worker is stopped while the backend is
# terminated, so that it reads the request before the end of the connection)
{
    is $t->api(GET => $list)->{status}, 200, 'a kept-alive connection';
    my ($pid) = map { $_->[0] } @{ $t->sql(q{SELECT pid FROM pg_stat_activity
        WHERE datname = current_database() AND application_name = 'ngx_dashboards'}) };
    ok $pid, 'its backend';
    my ($worker) = $t->worker_pids;
    my $body = Dash::json_encode({ name => 'Idle dead' });
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $t->port, Proto => 'tcp')
        or die "connect: $!";
    syswrite $s, "POST $list HTTP/1.1\r\nHost: localhost\r\n";
    sleep 0.2;
    kill 'STOP', $worker;
    ok $t->wait_until(sub { proc_state($worker) eq 'T' }), 'worker stopped';
    syswrite $s, "Authorization: Bearer " . $t->key . "\r\nContent-Type: application/json\r\n"
                 . "Content-Length: " . length($body) . "\r\nConnection: close\r\n\r\n$body";
    unlink "$relay_dir/closed";
    $t->sql('SELECT pg_terminate_backend($1)', $pid);
    ok $t->wait_until(sub { !Dash::Lock::backend_alive($t, $pid) }), 'its backend is terminated';
    # the relay, a process of its own, may not have run yet on a busy
    # machine: until it passes the server's FATAL message and the end of the
    # connection on, the worker could not tell the connection is dead
    ok $t->wait_until(sub { -e "$relay_dir/closed" }), 'the relay closed its side too';
    kill 'CONT', $worker;
    my $r = read_response($s);
    is $r->{status}, 201, 'the create went to a new connection: 201' or diag $r->{raw};
    is $t->sql_value('SELECT count(*) FROM posthog_dashboard WHERE name = $1', 'Idle dead'), 1,
        'one dashboard';
}

kill 'KILL', $relay_pid;
waitpid $relay_pid, 0;
$t->reload(primary => undef, pool_size => undef);

sub proc_state {
    my ($pid) = @_;
    open my $f, '<', "/proc/$pid/stat" or return '';
    my $st = <$f>;
    return $st =~ /\)\s+(\S)/ ? $1 : '';
}

done_testing;
