package Dash::Lock;

# A second session on the test database that holds FOR UPDATE row locks on
# posthog_dashboard rows until release(). A psql process fed through a pipe;
# it marks itself ready by changing its application_name once the lock is
# taken. And what the module's backends are doing in pg_stat_activity.
#
#   use Dash::Lock qw(lock_waiters backend_alive backend_busy);
#   my $lock = Dash::Lock->new($t, $dashboard_id, ...);
#   my $lock = Dash::Lock->new($t, { pg_may_stop => 1 }, $dashboard_id);
#   ok $t->wait_until(sub { lock_waiters($t) }), 'the PATCH waits';
#   $lock->release;                  # COMMIT; release('ROLLBACK'); DESTROY rolls back
#
# Perl core only.

use strict;
use warnings;

use Exporter qw(import);
use POSIX ();

our @EXPORT_OK = qw(lock_waiters backend_alive backend_busy);

my $n = 0;

# Options (a hashref before the ids):
#   pg_may_stop => 1   PostgreSQL may go away under the lock: psql does not
#                      stop at the first error, its stderr is discarded, and
#                      release() ignores SIGPIPE (psql may be gone)
#   sql => '...'       the statement that takes the lock instead of the row
#                      locks (e.g. LOCK TABLE posthog_event IN ACCESS
#                      EXCLUSIVE MODE)
# Without it psql runs with ON_ERROR_STOP=1 and its errors are shown.
sub new {
    my ($class, $t, @ids) = @_;
    my %o = ref $ids[0] eq 'HASH' ? %{ shift @ids } : ();
    my $tag = "dash_locker_$$" . '_' . ++$n;
    my @cmd = ('psql', $t->cluster->psql_args($t->db), '-q',
               ($o{pg_may_stop} ? () : ('-v', 'ON_ERROR_STOP=1')));
    my $pid = open(my $fh, '|-') // die "fork: $!";
    if (!$pid) {
        $ENV{PGAPPNAME} = "${tag}_wait";
        open STDOUT, '>', '/dev/null';
        open STDERR, '>', '/dev/null' if $o{pg_may_stop};
        exec { $cmd[0] } @cmd or POSIX::_exit(127);
    }
    $fh->autoflush(1);
    my $self = bless { t => $t, fh => $fh, pid => $pid, tag => $tag, pg_may_stop => $o{pg_may_stop} }, $class;
    my $list = join ',', map { int } @ids;
    print $fh "BEGIN;\n",
              ($o{sql} ? "$o{sql};\n"
                       : "SELECT id FROM posthog_dashboard WHERE id IN ($list) FOR UPDATE;\n"),
              "SET application_name = '$tag';\n";
    my $ok = $t->wait_until(sub {
        $t->sql_value('SELECT count(*) FROM pg_stat_activity WHERE application_name = $1', $tag)
    }, timeout => 10);
    die "the locking session did not take its lock" unless $ok;
    return $self;
}

# end the transaction ('COMMIT' unless $how) and wait for psql to exit
sub release {
    my ($self, $how) = @_;
    my $fh = delete $self->{fh} or return;
    local $SIG{PIPE} = 'IGNORE' if $self->{pg_may_stop};     # psql may be gone (PostgreSQL stopped)
    print $fh ($how // 'COMMIT'), ";\n";
    close $fh;                               # waits for psql to exit
}

sub DESTROY { local ($?, $@, $!); $_[0]->release('ROLLBACK') }

# the pids of the module's backends (application_name ngx_dashboards) waiting
# for a lock inside PostgreSQL; their number in scalar context
sub lock_waiters {
    my ($t) = @_;
    my $rows = $t->sql(q{SELECT pid FROM pg_stat_activity
                          WHERE datname = current_database() AND application_name = 'ngx_dashboards'
                            AND wait_event_type = 'Lock' ORDER BY pid});
    return map { $_->[0] } @$rows;
}

# is backend $pid still connected?
sub backend_alive {
    my ($t, $pid) = @_;
    return $t->sql_value('SELECT count(*) FROM pg_stat_activity WHERE pid = $1', $pid);
}

# does backend $pid still run a statement? (it may stay connected, idle, in the pool)
sub backend_busy {
    my ($t, $pid) = @_;
    return $t->sql_value(q{SELECT count(*) FROM pg_stat_activity WHERE pid = $1 AND state <> 'idle'}, $pid);
}

1;
