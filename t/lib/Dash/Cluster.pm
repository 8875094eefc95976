package Dash::Cluster;

# A private PostgreSQL cluster for the tests (and the psql runner used by Dash).
#
#   my $c = Dash::Cluster->start;            # initdb + start in a temp dir (owned: stopped on destroy)
#   my $c = Dash::Cluster->from_env;         # the cluster t/run exported (not owned), or undef
#   $c->create_template('dash_template');    # CREATE DATABASE + sql/migrate
#   $c->psql($db, $sql)                      # rows as arrayrefs (NULL = undef)
#   $c->psql_kept($db, $sql)                 # the same, on a psql kept open
#   $c->stop; $c->restart; $c->pg_ctl_start;
#
# As root, initdb and pg_ctl run as user postgres (initdb refuses root); the
# data directory is owned by postgres. psql connects as the database superuser
# "postgres" over the unix socket with trust authentication.
# Perl core only.

use strict;
use warnings;

use Carp qw(croak carp);
use Cwd qw(abs_path);
use Encode qw(encode_utf8 decode_utf8);
use File::Basename qw(dirname);
use File::Path qw(remove_tree);
use File::Temp ();
use IO::Select;
use IO::Socket::INET;
use IPC::Open3 qw(open3);
use POSIX ();
use Symbol qw(gensym);

our $ROOT = abs_path(dirname(__FILE__) . '/../../..');
our $NULL = "\x01";                     # psql's rendering of NULL (see psql())
my $FS = "\x1f";                        # field separator

sub bindir {
    my $dir = $ENV{DASH_PG_BINDIR};
    return $dir if $dir && -x "$dir/initdb";
    my $pc = `pg_config --bindir 2>/dev/null`;
    chomp $pc;
    return $pc if $pc && -x "$pc/initdb";
    my @dirs = sort { ($b =~ m{/(\d+)/bin$})[0] <=> ($a =~ m{/(\d+)/bin$})[0] }
               grep { -x "$_/initdb" } glob('/usr/lib/postgresql/*/bin');
    return $dirs[0] if @dirs;
    return undef;
}

sub free_port {
    for (1 .. 50) {
        my $s = IO::Socket::INET->new(Listen => 1, LocalAddr => '127.0.0.1',
                                      LocalPort => 0, Proto => 'tcp', ReuseAddr => 0)
            or next;
        my $port = $s->sockport;
        close $s;
        # avoid the well-known ones the demo uses
        next if $port == 8080 || $port == 5432 || $port == 5433;
        return $port;
    }
    croak "no free port";
}

sub _is_root { $> == 0 }

sub _pg_uid {
    my @pw = getpwnam('postgres') or croak "running as root needs a 'postgres' user (install postgresql-15)";
    return ($pw[2], $pw[3]);
}

# run a PostgreSQL server binary, as postgres when root; returns exit status, output in $$out
sub _run_pg {
    my ($self, $cmd, $out_ref) = @_;
    my @cmd = @$cmd;
    @cmd = ('runuser', '-u', 'postgres', '--', @cmd) if _is_root();
    my $pid = open(my $fh, '-|') // croak "fork: $!";
    if (!$pid) {
        open(STDERR, '>&', \*STDOUT);
        open(STDIN, '<', '/dev/null');
        chdir '/';
        exec { $cmd[0] } @cmd or POSIX::_exit(127);
    }
    local $/;
    my $out = <$fh> // '';
    close $fh;
    $$out_ref = $out if $out_ref;
    return $?;
}

sub new {
    my ($class, %o) = @_;
    my $self = bless {
        owned   => 0,
        pid     => $$,
        running => 0,
        %o,
    }, $class;
    return $self;
}

# The cluster t/run exported, if any.
sub from_env {
    my ($class) = @_;
    return undef unless $ENV{DASH_PGHOST} && $ENV{DASH_PGPORT};
    return $class->new(
        host     => $ENV{DASH_PGHOST},
        port     => $ENV{DASH_PGPORT},
        template => $ENV{DASH_TEMPLATE} || 'dash_template',
        log      => $ENV{DASH_PGLOG},
        owned    => 0,
        running  => 1,
    );
}

# initdb (or copy the pristine data dir t/run left in DASH_PG_SKELETON) and start.
sub start {
    my ($class, %o) = @_;
    my $bindir = bindir() or croak "PostgreSQL server binaries not found (install postgresql-15)";
    my $dir = File::Temp::tempdir('dash-pg-XXXXXX', TMPDIR => 1, CLEANUP => 0);
    chmod 0755, $dir;
    my $self = $class->new(
        dir      => $dir,
        data     => "$dir/data",
        host     => "$dir/sock",
        log      => "$dir/postgresql.log",
        port     => $o{port} || free_port(),
        bindir   => $bindir,
        owned    => 1,
        template => $o{template} || 'dash_template',
    );
    mkdir $self->{host} or croak "mkdir $self->{host}: $!";
    chmod 0755, $self->{host};
    if (_is_root()) {
        my ($uid, $gid) = _pg_uid();
        chown $uid, $gid, $dir, $self->{host};
    }
    my $skel = $o{skeleton} // $ENV{DASH_PG_SKELETON};
    my $out;
    if ($skel && -f "$skel/PG_VERSION") {
        my $st = $self->_run_pg(['cp', '-a', $skel, $self->{data}], \$out);
        croak "copying $skel failed: $out" if $st;
    } else {
        my $st = $self->_run_pg([
            "$bindir/initdb", '-D', $self->{data}, '-A', 'trust', '-U', 'postgres',
            '-E', 'UTF8', '--locale=C', '--no-sync', '--no-instructions',
        ], \$out);
        croak "initdb failed:\n$out" if $st;
    }
    $self->pg_ctl_start;
    return $self;
}

sub server_options {
    my ($self) = @_;
    return join ' ',
        "-p $self->{port}",
        "-k $self->{host}",
        "-c listen_addresses=127.0.0.1",
        "-c unix_socket_permissions=0777",
        "-c fsync=off",
        "-c full_page_writes=off",
        "-c synchronous_commit=off",
        "-c max_connections=300",
        "-c shared_buffers=64MB",
        "-c log_min_messages=warning",
        "-c log_line_prefix='%m [%p] %a '",
        ($ENV{DASH_PG_OPTIONS} // '');
}

sub pg_ctl_start {
    my ($self) = @_;
    croak "not an owned cluster" unless $self->{owned};
    my $out;
    my $st = $self->_run_pg([
        "$self->{bindir}/pg_ctl", '-D', $self->{data}, '-l', $self->{log}, '-w', '-t', '60',
        '-o', $self->server_options, 'start',
    ], \$out);
    if ($st) {
        my $log = '';
        if (open my $fh, '<', $self->{log}) { local $/; $log = <$fh> }
        croak "pg_ctl start failed:\n$out\n$log";
    }
    $self->{running} = 1;
    return 1;
}

sub stop {
    my ($self, $mode) = @_;
    return 1 unless $self->{owned} && $self->{running};
    return 1 unless $self->{pid} == $$;
    my $out;
    my $st = $self->_run_pg([
        "$self->{bindir}/pg_ctl", '-D', $self->{data}, '-m', $mode // 'fast', '-w', '-t', '60', 'stop',
    ], \$out);
    if ($st) {
        carp "pg_ctl stop failed: $out";
        return 0;
    }
    $self->{running} = 0;
    return 1;
}

sub restart {
    my ($self) = @_;
    $self->stop;
    $self->pg_ctl_start;
}

sub destroy {
    my ($self) = @_;
    return unless $self->{owned} && $self->{pid} == $$;
    $self->stop('immediate') if $self->{running};
    remove_tree($self->{dir}) if $self->{dir} && -d $self->{dir} && !$ENV{DASH_KEEP};
    $self->{owned} = 0;
}

sub DESTROY {
    my ($self) = @_;
    local ($?, $@, $!);
    $self->destroy;
}

sub host { $_[0]{host} }
sub port { $_[0]{port} }
sub template { $_[0]{template} }
sub owned { $_[0]{owned} }

sub conninfo {
    my ($self, $db, %o) = @_;
    my $host = $o{tcp} ? '127.0.0.1' : $self->{host};
    my $app  = $o{application_name} // 'ngx_dashboards';
    return "host=$host port=$self->{port} dbname=$db user=postgres application_name=$app";
}

sub psql_args {
    my ($self, $db) = @_;
    return ('-X', '-h', $self->{host}, '-p', $self->{port}, '-U', 'postgres', '-d', $db);
}

# quote a value as an SQL literal; undef = NULL; arrayref = array literal; hashref = json
sub quote {
    my ($v) = @_;
    return 'NULL' unless defined $v;
    if (ref $v eq 'SCALAR') {                     # \ 'raw SQL'
        return $$v;
    }
    if (ref $v eq 'ARRAY') {
        my @e = map {
            defined $_ ? do { (my $s = "$_") =~ s/(["\\])/\\$1/g; qq{"$s"} } : 'NULL'
        } @$v;
        $v = '{' . join(',', @e) . '}';
    } elsif (ref $v eq 'HASH' || (ref $v && ref $v ne 'JSON::PP::Boolean')) {
        require JSON::PP;
        $v = JSON::PP->new->canonical->allow_nonref->encode($v);
    } elsif (ref $v eq 'JSON::PP::Boolean') {
        $v = $v ? 'true' : 'false';
    }
    (my $s = "$v") =~ s/'/''/g;
    croak "NUL byte in SQL literal" if $s =~ /\0/;
    return "'$s'";
}

# replace $1..$n (outside of quotes is the caller's business) by quoted binds
sub interpolate {
    my ($sql, @bind) = @_;
    return $sql unless @bind;
    $sql =~ s/(?<![\w\$])\$(\d+)(?!\d)/
        $1 >= 1 && $1 <= @bind ? quote($bind[$1 - 1]) : croak("no bind value for \$$1")/ge;
    return $sql;
}

# Run SQL through psql on database $db; returns rows (arrayrefs of strings, NULL = undef).
# Dies with psql's message on error. Several statements may be given; the rows of
# all of them are returned in order.
sub psql {
    my ($self, $db, $sql, @bind) = @_;
    $sql = interpolate($sql, @bind);
    my $tmp = _sql_file($sql);
    my $errf = File::Temp->new(TEMPLATE => 'dash-sqlerr-XXXXXX', TMPDIR => 1);
    my @cmd = ($self->psql_cmd($db), '-f', $tmp->filename);
    local @ENV{qw(PGCLIENTENCODING PGCONNECT_TIMEOUT PGOPTIONS)} = _psql_env();
    my $pid = open(my $fh, '-|') // croak "fork: $!";
    if (!$pid) {
        open(STDERR, '>', $errf->filename);
        open(STDIN, '<', '/dev/null');
        exec { $cmd[0] } @cmd or POSIX::_exit(127);
    }
    binmode $fh;
    my $out = do { local $/; <$fh> } // '';
    close $fh;
    my $st = $?;
    my $err = do { open my $e, '<', $errf->filename; local $/; <$e> } // '';
    _failed($err, $sql) if $st;
    return _rows($out);
}

# psql with its output as _rows() reads it (-A -t -0, fields split by
# $FS, NULL as $NULL), stopping at the first error; psql() and psql_kept()
# add the script to read, a test that keeps its own session pipes it in
sub psql_cmd {
    my ($self, $db) = @_;
    return ('psql', $self->psql_args($db), '-q', '-A', '-t', '-F', $FS, '-0',
            '-P', "null=$NULL", '-v', 'ON_ERROR_STOP=1');
}

# the environment of psql: UTF-8, a connect timeout, and the module's
# functions, which live in schema ngx_dashboards (sql/migrate), on the path
sub _psql_env {
    return ('UTF8', 10, $ENV{DASH_PSQL_PGOPTIONS}
                        // '-c client_min_messages=warning -c search_path=ngx_dashboards,public');
}

# the SQL in a file, for psql -f or \i
sub _sql_file {
    my ($sql) = @_;
    my $tmp = File::Temp->new(TEMPLATE => 'dash-sql-XXXXXX', TMPDIR => 1, SUFFIX => '.sql');
    binmode $tmp;
    print $tmp encode_utf8($sql), "\n";
    close $tmp;
    return $tmp;
}

# psql's output (-A -t -0) as rows
sub _rows {
    my ($out) = @_;
    my @rows;
    for my $rec (split /\0/, decode_utf8($out), -1) {
        $rec =~ s/\n\z//;
        next if $rec eq '';
        push @rows, [ map { $_ eq $NULL ? undef : $_ } split /$FS/, $rec, -1 ];
    }
    return \@rows;
}

# dies with psql's message
sub _failed {
    my ($err, $sql) = @_;
    $err = decode_utf8($err);
    $err =~ s/^psql:\S+?:\d+: //mg;
    chomp $err;
    croak "SQL failed: $err\n--- SQL:\n$sql\n";
}

# The same as psql(), on one psql per process and database kept open: a new
# psql and backend per call cost ~90 ms of CPU, most of what a test file
# spent (382 calls in t/100). Each call is a probe (SELECT 1), the file of
# the SQL (\i, statements one by one as with -f, ON_ERROR_STOP), then
# DISCARD ALL, so no session state outlives its call. An error ends that
# psql, and the next call starts another. A psql whose backend is gone
# (terminated, the server restarted) fails its probe, before the call's SQL
# ran: the call goes to a new one, once.
my %KEPT;                                   # "pid db" => session
my $KEPT_N = 0;

sub psql_kept {
    my ($self, $db, $sql, @bind) = @_;
    $sql = interpolate($sql, @bind);
    my $tmp = _sql_file($sql);
    for my $try (1, 2) {
        my $s = $self->_kept($db);
        my ($ran, $out, $err) = _kept_call($s, $tmp->filename, ++$KEPT_N);
        if (!$ran) {
            $self->kept_close($db);
            next if !defined $ran && $try == 1;     # the probe failed
            _failed($err, $sql);
        }
        $self->kept_close($db) if $s->{dead};
        return _rows($out);
    }
}

sub _kept {
    my ($self, $db) = @_;
    my $key = "$$ $db";
    return $KEPT{$key} if $KEPT{$key};
    local @ENV{qw(PGCLIENTENCODING PGCONNECT_TIMEOUT PGOPTIONS)} = _psql_env();
    my $err = gensym;
    my $pid = open3(my $in, my $out, $err, $self->psql_cmd($db), '-f', '-');
    binmode $_ for $in, $out, $err;
    $in->autoflush(1);
    return $KEPT{$key} = { pid => $pid, in => $in, out => $out, err => $err };
}

# (1, rows text, '') done; (0, '', stderr) its SQL failed; (undef, '', stderr)
# the probe failed
sub _kept_call {
    my ($s, $file, $n) = @_;
    local $SIG{PIPE} = 'IGNORE';
    my ($ma, $mb, $mc) = ("DASH_KEPT_A$n", "DASH_KEPT_B$n", "DASH_KEPT_C$n");
    my $ok = print { $s->{in} } "SELECT 1;\n\\echo $ma\n\\i $file\n;\n\\echo $mb\nDISCARD ALL;\n\\echo $mc\n";
    my ($out, $err) = ('', '');
    my $sel = IO::Select->new($s->{out}, $s->{err});
    my $open = 2;
    while ($open && $out !~ /(?:^|[\n\0])\Q$mc\E\n\z/) {
        for my $fh ($sel->can_read) {
            my $buf;
            my $got = sysread $fh, $buf, 65536;
            if (!$got) {
                $sel->remove($fh);
                $open--;
                next;
            }
            if ($fh == $s->{out}) { $out .= $buf } else { $err .= $buf }
        }
        last if !$ok;
    }
    my $ia = index $out, "$ma\n";
    return (undef, '', $err) if $ia < 0;
    my $ib = index $out, "$mb\n", $ia;
    return (0, '', $err) if $ib < 0;
    $s->{dead} = 1 if index($out, "$mc\n", $ib) < 0;
    my $body = substr $out, $ia + length("$ma\n"), $ib - $ia - length("$ma\n");
    return (1, $body, '');
}

# ends the kept psql of $db in this process (before the database is dropped)
sub kept_close {
    my ($self, $db) = @_;
    my $s = delete $KEPT{"$$ $db"} or return;
    close $s->{in};
    close $s->{out};
    close $s->{err};
    waitpid $s->{pid}, 0;
}

sub db_exists {
    my ($self, $db) = @_;
    return $self->psql('postgres', 'SELECT 1 FROM pg_database WHERE datname = $1', $db)->[0] ? 1 : 0;
}

# CREATE DATABASE $name + apply sql/migrate (when it exists)
sub create_template {
    my ($self, $name) = @_;
    $name //= $self->{template};
    $self->psql('postgres', qq{CREATE DATABASE "$name"});
    my $migrate = "$ROOT/sql/migrate";
    if (-f $migrate) {
        my @cmd = (-x $migrate ? ($migrate) : ('bash', $migrate), $self->psql_args($name));
        local $ENV{PGCLIENTENCODING} = 'UTF8';
        my $out = '';
        my $pid = open(my $fh, '-|') // croak "fork: $!";
        if (!$pid) {
            open(STDERR, '>&', \*STDOUT);
            open(STDIN, '<', '/dev/null');
            exec { $cmd[0] } @cmd or POSIX::_exit(127);
        }
        { local $/; $out = <$fh> // '' }
        close $fh;
        croak "sql/migrate failed (exit " . ($? >> 8) . "):\n$out" if $?;
    } else {
        carp "sql/migrate does not exist: $name has no schema";
    }
    $self->{template} = $name;
    return $name;
}

1;
