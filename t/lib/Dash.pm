package Dash;

# Test harness for ngx_dashboards: one nginx (with our module) per Dash object,
# one fresh PostgreSQL database per Dash object, fixtures, HTTP helpers, and
# end-of-file checks of nginx's error log. Perl core only.
#
#   use Test::More;
#   use FindBin; use lib "$FindBin::Bin/lib";
#   use Dash;
#
#   my $t = Dash->new;                       # nginx on a free port, fresh database
#   my $w = $t->world;                       # org + project/team + admin + key '*'
#   my $r = $t->api(GET => "/api/projects/$w->{project}/dashboards/");
#   is $r->{status}, 200;
#   is $r->{json}{count}, 0;
#   done_testing;                            # the harness adds its checks first
#
# See t/lib/README.md for the whole API.

use strict;
use warnings;

use Test::More ();     # load Test::Builder (and its END block) before ours
use Carp qw(croak carp confess);
use Cwd qw(abs_path);
use Digest::SHA qw(sha256_hex);
use Encode qw(encode_utf8 decode_utf8 is_utf8);
use File::Basename qw(basename dirname);
use File::Path qw(remove_tree);
use File::Temp ();
use HTTP::Tiny;
use IO::Select;
use IO::Socket::INET;
use JSON::PP ();
use POSIX qw(WNOHANG);
use Scalar::Util qw(weaken blessed);
use Time::HiRes qw(sleep time);

use Dash::Cluster;

our $ROOT = abs_path(dirname(__FILE__) . '/../..');
our $VERSION = '1';

our $JSON = JSON::PP->new->utf8->canonical->allow_nonref->allow_blessed->convert_blessed;
our @LIVE;                 # weak refs to every Dash object (for the final checks)
our $OWN_CLUSTER;          # cluster started by this test file when t/run exported none
our $FINAL_DONE = 0;
my  $CREATOR = $$;
my  $SEQ = 0;

# a stack frame in the module (ASan leak reports). Leaks are reported at
# exit, after nginx has dlclose()d the module, so its frames then read
# "<unknown module>": the tests load no other dynamic module.
our $MODULE_FRAME = qr{ngx_http_dashboards|<unknown module>};
# (valgrind runs with --keep-debuginfo=yes, so its frames keep the name)

my @POOL_DIRECTIVES = qw(pool_size queue_size queue_timeout connect_timeout lock_timeout
                         query_timeout prepared_statements);

sub import {
    my $caller = caller;
    no strict 'refs';
    for my $f (qw(json_encode json_decode)) {
        *{"${caller}::$f"} = \&{$f};
    }
}

sub json_encode { $JSON->encode($_[0]) }
sub json_decode { $JSON->decode($_[0]) }

sub sanitizer { $ENV{DASH_SANITIZER} // '' }

sub _slow_factor { sanitizer() eq 'valgrind' ? 10 : sanitizer() eq 'asan' ? 2 : 1 }

sub _tb { Test::More->builder }

sub _skip_all {
    my ($why) = @_;
    my $tb = _tb();
    if (!$tb->has_plan && $tb->current_test == 0) {
        $tb->skip_all($why);
    }
    croak $why;
}

# ---------------------------------------------------------------------------
# construction

my $GUARDS_SET = 0;

# A test file that hangs or is interrupted still stops its nginx and drops its
# database: SIGINT/SIGTERM/SIGHUP and a watchdog alarm become a normal exit,
# which runs the END block. DASH_TIMEOUT (seconds, default 900; 0 = none).
sub _set_guards {
    return if $GUARDS_SET++;
    for my $sig (qw(INT TERM HUP)) {
        next if defined $SIG{$sig} && ref $SIG{$sig};
        $SIG{$sig} = sub {
            return unless $$ == $CREATOR;
            Test::More->builder->diag("caught SIG$sig: stopping nginx");
            exit 128 + ($sig eq 'INT' ? 2 : $sig eq 'TERM' ? 15 : 1);
        };
    }
    my $timeout = $ENV{DASH_TIMEOUT} // 900;
    if ($timeout > 0 && !(defined $SIG{ALRM} && ref $SIG{ALRM})) {
        $SIG{ALRM} = sub {
            return unless $$ == $CREATOR;
            Test::More->builder->ok(0, "test file finished within ${timeout}s (DASH_TIMEOUT)");
            exit 1;
        };
        alarm($timeout * _slow_factor());
    }
}

sub new {
    my ($class, %o) = @_;
    _set_guards();

    my $module = $o{module} // $ENV{DASH_MODULE} // "$ROOT/build/ngx_http_dashboards_module.so";
    $module = abs_path($module) // $module;
    _skip_all("module $module not built (run make)") unless -f $module;
    my $nginx = $o{nginx} // $ENV{DASH_NGINX} // '/usr/sbin/nginx';
    _skip_all("nginx binary $nginx not found (make deps)") unless -x $nginx;

    my $self = bless {
        opts      => \%o,
        module    => $module,
        nginx     => $nginx,
        creator   => $$,
        port      => $o{port} // Dash::Cluster::free_port(),
        ports     => {},
        key       => undef,
        allow_log => [ @{ $o{allow_log} // [] } ],
        workers   => $o{workers} // 1,
        checked   => 0,
        seq       => 0,
        http_timeout => $o{http_timeout} // 30 * _slow_factor(),
    }, $class;
    push @LIVE, $self;
    weaken($LIVE[-1]);

    # PostgreSQL: the shared cluster from t/run, or one of our own
    if ($o{private_cluster}) {
        _skip_all("PostgreSQL server binaries not found") unless Dash::Cluster::bindir();
        $self->{cluster} = Dash::Cluster->start;
        $self->{cluster}->create_template;
    } elsif (my $c = Dash::Cluster->from_env) {
        $self->{cluster} = $c;
    } else {
        _skip_all("PostgreSQL server binaries not found") unless Dash::Cluster::bindir();
        if (!$OWN_CLUSTER) {
            $OWN_CLUSTER = Dash::Cluster->start;
            $OWN_CLUSTER->create_template;
        }
        $self->{cluster} = $OWN_CLUSTER;
    }

    $self->{db} = $o{database} // $self->_db_name;
    $self->_create_database unless $o{database};

    $self->{prefix} = File::Temp::tempdir('dash-ngx-XXXXXX', TMPDIR => 1, CLEANUP => 0);
    chmod 0755, $self->{prefix};
    mkdir "$self->{prefix}/san";
    chmod 01777, "$self->{prefix}/san";
    $self->{error_log} = "$self->{prefix}/error.log";

    $self->{http} = HTTP::Tiny->new(
        keep_alive => 0,
        timeout    => $self->{http_timeout},
        agent      => 'dash-test/1',
        max_size   => 256 * 1024 * 1024,
    );

    $self->write_conf;
    $self->start unless defined $o{start} && !$o{start};
    return $self;
}

sub _db_name {
    my ($self) = @_;
    my $f = lc basename($0);
    $f =~ s/\.t$//;
    $f =~ s/[^a-z0-9]+/_/g;
    $f = substr($f, 0, 30);
    $SEQ++;
    return "t_${f}_$$" . ($SEQ > 1 ? "_$SEQ" : '');
}

sub _create_database {
    my ($self) = @_;
    my $c = $self->{cluster};
    my $tpl = $c->template;
    for my $try (1 .. 50) {
        my $ok = eval {
            $c->psql('postgres', qq{DROP DATABASE IF EXISTS "$self->{db}" WITH (FORCE)});
            $c->psql('postgres', qq{CREATE DATABASE "$self->{db}" TEMPLATE "$tpl"});
            1;
        };
        if ($ok) { $self->{db_created} = 1; return }
        die $@ unless $@ =~ /being accessed by other users/;
        sleep 0.1 * $try;
    }
    croak "could not create database $self->{db} from $tpl";
}

# ---------------------------------------------------------------------------
# accessors

sub port      { $_[0]{port} }
sub prefix    { $_[0]{prefix} }
sub db        { $_[0]{db} }
sub cluster   { $_[0]{cluster} }
sub module    { $_[0]{module} }
sub base_url  { "http://127.0.0.1:$_[0]{port}" }
sub url       { my ($self, $path) = @_; $path //= '/'; $self->base_url . $path }
sub pg_host   { $_[0]{cluster}->host }
sub pg_port   { $_[0]{cluster}->port }

# the conninfo nginx uses for this test's database
sub conninfo {
    my ($self, %o) = @_;
    return $self->{cluster}->conninfo($self->{db},
        tcp => $o{tcp} // $self->{opts}{pg_tcp},
        application_name => $o{application_name} // $self->{opts}{application_name} // 'ngx_dashboards');
}

# default key for api() (world() sets it)
sub key {
    my ($self) = @_;
    $self->{key} = $_[1] if @_ > 1;
    return $self->{key};
}

# an extra free port, stable per name: $t->extra_port('b')
sub extra_port {
    my ($self, $name) = @_;
    $name //= 'extra';
    return $self->{ports}{$name} //= Dash::Cluster::free_port();
}

# ---------------------------------------------------------------------------
# nginx configuration

sub database_block {
    my ($self, %ov) = @_;
    my $o = { %{ $self->{opts} }, %ov };
    my $name = $o->{pool_name} // 'main';
    my @servers;
    if ($o->{servers}) {
        @servers = @{ $o->{servers} };                     # complete 'server' arguments
    } else {
        push @servers, '"' . ($o->{primary} // $self->conninfo) . '"';
        my $rep = $o->{replicas} // (defined $o->{replica} ? [ $o->{replica} ] : []);
        for my $r (@$rep) {
            my $ci = ($r =~ /=/) ? $r
                   : $self->conninfo(application_name => 'ngx_dashboards_replica');
            push @servers, qq{"$ci" replica};
        }
    }
    my $txt = "    dashboards_database $name {\n";
    $txt .= "        server $_;\n" for @servers;
    for my $d (@POOL_DIRECTIVES) {
        next unless defined $o->{$d};
        my $v = $o->{$d};
        $v = $v ? 'on' : 'off' if $d eq 'prepared_statements' && $v =~ /^[01]$/;
        $txt .= "        $d $v;\n";
    }
    $txt .= _indent($o->{database_extra}, 8) if $o->{database_extra};
    $txt .= "    }\n";
    return $txt;
}

sub _indent {
    my ($text, $n) = @_;
    my $pad = ' ' x $n;
    $text =~ s/^/$pad/mg;
    $text .= "\n" unless $text =~ /\n\z/;
    return $text;
}

sub conf_text {
    my ($self) = @_;
    my $o = $self->{opts};
    my $p = $self->{prefix};
    my $conf;

    if (defined $o->{conf}) {
        # a complete configuration with placeholders
        $conf = $o->{conf};
    } else {
        my $loc = "            dashboards_pass " . ($o->{pool_name} // 'main') . ";\n";
        $loc .= "            dashboards_auth_cache_ttl $o->{auth_cache_ttl};\n"
            if defined $o->{auth_cache_ttl};
        $loc .= _indent($o->{location_extra}, 12) if $o->{location_extra};
        my $log_level = $o->{log_level} // 'debug';
        $conf = <<"CONF";
%%MAIN%%
daemon off;
master_process %%MASTER%%;
worker_processes $self->{workers};
error_log $p/error.log $log_level;
pid $p/nginx.pid;
worker_rlimit_core 0;
CONF
        $conf .= $o->{main_extra} . "\n" if $o->{main_extra};
        $conf .= <<"CONF";

events {
    worker_connections 1024;
}

http {
%%TEMP_PATHS%%
    access_log $p/access.log;
    default_type application/octet-stream;
%%DATABASE%%
CONF
        $conf .= _indent($o->{http_extra}, 4) if $o->{http_extra};
        $conf .= <<"CONF";

    server {
        listen 127.0.0.1:%%PORT%%;
        server_name localhost;

        location /api/ {
$loc        }
CONF
        $conf .= _indent($o->{server_extra}, 8) if $o->{server_extra};
        $conf .= "    }\n}\n";
    }

    my $temp = join '', map { "    ${_}_temp_path $p/${_}_temp;\n" }
        qw(client_body proxy fastcgi uwsgi scgi);
    my $master = sanitizer() eq 'valgrind' && $o->{valgrind_single} ? 'off' : 'on';
    my %ph = (
        MAIN       => "load_module $self->{module};",
        MODULE     => $self->{module},
        PREFIX     => $p,
        PORT       => $self->{port},
        MASTER     => $master,
        WORKERS    => $self->{workers},
        TEMP_PATHS => $temp,
        DATABASE   => $self->database_block,
        CONNINFO   => $self->conninfo,
        PG_HOST    => $self->pg_host,
        PG_PORT    => $self->pg_port,
        DBNAME     => $self->{db},
    );
    $conf =~ s/%%PORT_(\w+)%%/$self->extra_port($1)/ge;
    $conf =~ s/%%(\w+)%%/exists $ph{$1} ? $ph{$1} : croak("unknown placeholder %%$1%%")/ge;
    return $conf;
}

sub write_conf {
    my ($self, %ov) = @_;
    @{ $self->{opts} }{ keys %ov } = values %ov if %ov;
    my $file = "$self->{prefix}/nginx.conf";
    open my $fh, '>', $file or croak "$file: $!";
    print $fh $self->conf_text;
    close $fh;
    return $file;
}

sub conf_file { "$_[0]{prefix}/nginx.conf" }

# ---------------------------------------------------------------------------
# nginx process

sub _nginx_cmd {
    my ($self, @extra) = @_;
    my @cmd = ($self->{nginx}, '-p', "$self->{prefix}/", '-c', $self->conf_file,
               '-e', $self->{error_log}, @extra);
    my %env;
    my $san = sanitizer();
    if ($san eq 'asan') {
        my $lib = `gcc -print-file-name=libasan.so 2>/dev/null`;
        chomp $lib;
        $lib = abs_path($lib) // $lib;
        $env{LD_PRELOAD} = $lib;
        $env{ASAN_OPTIONS} = join ':',
            "log_path=$self->{prefix}/san/asan",
            'detect_leaks=1', 'abort_on_error=0', 'halt_on_error=1',
            'detect_odr_violation=0', 'allocator_may_return_null=1',
            'handle_segv=1', 'disable_coredump=1', 'fast_unwind_on_malloc=0',
            ($ENV{DASH_ASAN_OPTIONS} // ());
        $env{LSAN_OPTIONS} = "suppressions=$ROOT/t/lib/lsan.supp:print_suppressions=0:exitcode=0";
    } elsif ($san eq 'valgrind') {
        unshift @cmd, 'valgrind', '-q', '--trace-children=no', '--child-silent-after-fork=no',
            "--log-file=$self->{prefix}/san/vg.%p", '--keep-debuginfo=yes',
            '--leak-check=full', '--show-leak-kinds=definite', '--errors-for-leak-kinds=definite',
            '--num-callers=30', "--suppressions=$ROOT/t/lib/valgrind.supp";
    }
    return (\@cmd, \%env);
}

# nginx -t on the current configuration: returns (ok, output)
sub test_conf {
    my ($self) = @_;
    my ($cmd, $env) = $self->_nginx_cmd('-t');
    # nginx -t leaks its init cycle on purpose; not the module's business
    $env->{ASAN_OPTIONS} =~ s/detect_leaks=1/detect_leaks=0/ if $env->{ASAN_OPTIONS};
    @$cmd = grep { $_ ne 'valgrind' && !/^--|^-q$/ } @$cmd if sanitizer() eq 'valgrind';
    my $from = $self->log_offset;
    my $pid = open(my $fh, '-|') // croak "fork: $!";
    if (!$pid) {
        delete $ENV{NGINX};
        $ENV{$_} = $env->{$_} for keys %$env;
        open(STDERR, '>&', \*STDOUT);
        exec { $cmd->[0] } @$cmd or POSIX::_exit(127);
    }
    my $out = do { local $/; <$fh> } // '';
    close $fh;
    my $st = $?;
    # whatever nginx -t wrote to error.log is not held against the test
    push @{ $self->{ignore_ranges} }, [ $from, $self->log_offset ];
    return ($st == 0, $out . $self->error_log(from => $from));
}

sub start {
    my ($self) = @_;
    croak "nginx already running" if $self->{nginx_pid};
    my ($cmd, $env) = $self->_nginx_cmd;
    unlink "$self->{prefix}/nginx.pid";
    my $log_off = -s $self->{error_log} // 0;
    my $pid = fork // croak "fork: $!";
    if (!$pid) {
        delete $ENV{NGINX};                    # nginx reads inherited sockets from $NGINX
        $ENV{$_} = $env->{$_} for keys %$env;
        open(STDIN, '<', '/dev/null');
        open(STDOUT, '>>', "$self->{prefix}/stderr.log");
        open(STDERR, '>&', \*STDOUT);
        exec { $cmd->[0] } @$cmd or POSIX::_exit(127);
    }
    $self->{nginx_pid} = $pid;
    $self->{started_at} = time;
    my $deadline = time + 15 * _slow_factor();
    while (time < $deadline) {
        my $w = waitpid($pid, WNOHANG);
        if ($w == $pid) {
            my $st = $?;
            delete $self->{nginx_pid};
            my $log = $self->error_log(from => $log_off) . $self->_slurp("$self->{prefix}/stderr.log");
            croak "nginx exited at start (status $st):\n$log";
        }
        if ($self->_port_open($self->{port})) {
            return $self->_wait_workers;
        }
        sleep 0.02;
    }
    my $log = $self->error_log(from => $log_off);
    $self->_kill_nginx;
    croak "nginx did not listen on 127.0.0.1:$self->{port} in time:\n$log";
}

sub _wait_workers {
    my ($self) = @_;
    my $want = $self->{workers};
    return 1 if sanitizer() eq 'valgrind' && $self->{opts}{valgrind_single};
    my $deadline = time + 10 * _slow_factor();
    while (time < $deadline) {
        return 1 if scalar($self->worker_pids) >= $want;
        sleep 0.02;
    }
    return 1;
}

sub _port_open {
    my ($self, $port) = @_;
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port,
                                  Proto => 'tcp', Timeout => 1);
    return 0 unless $s;
    close $s;
    return 1;
}

sub running { $_[0]{nginx_pid} && kill(0, $_[0]{nginx_pid}) ? 1 : 0 }

sub nginx_pid { $_[0]{nginx_pid} }

# pids of the processes whose parent is the nginx master (workers; cache
# manager/loader if any)
sub worker_pids {
    my ($self) = @_;
    my $master = $self->{nginx_pid} or return ();
    my @pids;
    opendir my $d, '/proc' or return ();
    for my $p (grep { /^\d+$/ } readdir $d) {
        open my $fh, '<', "/proc/$p/stat" or next;
        my $stat = <$fh> // next;
        close $fh;
        # pid (comm) state ppid ...
        next unless $stat =~ /\)\s+\S+\s+(\d+)/;
        push @pids, $p if $1 == $master;
    }
    closedir $d;
    my @sorted = sort { $a <=> $b } @pids;
    return @sorted;                           # count in scalar context
}

# Stop nginx: SIGQUIT (graceful), then SIGTERM, then SIGKILL. Returns 1 when
# nginx exited on SIGQUIT within the grace period.
sub stop {
    my ($self, %o) = @_;
    my $pid = $self->{nginx_pid} or return 1;
    return 1 unless $$ == $self->{creator};
    my $grace = ($o{timeout} // 10) * _slow_factor();
    kill 'QUIT', $pid;
    my $graceful = $self->_reap($pid, $grace);
    if (!$graceful) {
        $self->{stop_problem} = "nginx did not exit within ${grace}s of SIGQUIT";
        kill 'TERM', $pid;
        $self->_reap($pid, 5) or do { kill 'KILL', $pid; $self->_reap($pid, 5) };
        # workers left behind?
        kill 'KILL', $_ for $self->_orphans;
    }
    $self->{exit_status} = $?;
    delete $self->{nginx_pid};
    return $graceful;
}

sub _orphans {
    my ($self) = @_;
    my @p;
    opendir my $d, '/proc' or return ();
    for my $p (grep { /^\d+$/ } readdir $d) {
        open my $fh, '<', "/proc/$p/cmdline" or next;
        my $cmd = do { local $/; <$fh> } // '';
        push @p, $p if index($cmd, $self->{prefix}) >= 0 && $p != $$;
    }
    return @p;
}

sub _kill_nginx {
    my ($self) = @_;
    my $pid = delete $self->{nginx_pid} or return;
    kill 'KILL', $pid;
    waitpid $pid, 0;
    kill 'KILL', $_ for $self->_orphans;
}

sub _reap {
    my ($self, $pid, $timeout) = @_;
    my $deadline = time + $timeout;
    while (time < $deadline) {
        my $w = waitpid($pid, WNOHANG);
        return 1 if $w == $pid || $w == -1;
        sleep 0.02;
    }
    return 0;
}

# rewrite the configuration (with option overrides) and reload with SIGHUP;
# waits until the old workers are gone and new ones run
sub reload {
    my ($self, %ov) = @_;
    $self->write_conf(%ov);
    my ($ok, $out) = $self->test_conf;
    croak "new configuration refused:\n$out" unless $ok;
    my @old = $self->worker_pids;
    kill 'HUP', $self->{nginx_pid};
    my $deadline = time + 15 * _slow_factor();
    while (time < $deadline) {
        my %now = map { $_ => 1 } $self->worker_pids;
        my $old_left = grep { $now{$_} } @old;
        return 1 if !$old_left && keys(%now) >= $self->{workers};
        sleep 0.05;
    }
    croak "reload: workers did not change in time";
}

sub restart {
    my ($self, %ov) = @_;
    $self->stop;
    $self->write_conf(%ov) if %ov;
    $self->start;
}

# ---------------------------------------------------------------------------
# logs

sub _slurp {
    my ($self, $file, $from) = @_;
    open my $fh, '<', $file or return '';
    binmode $fh;
    seek $fh, $from, 0 if $from;
    local $/;
    return <$fh> // '';
}

# error log text; from => byte offset (see log_offset)
sub error_log {
    my ($self, %o) = @_;
    return $self->_slurp($self->{error_log}, $o{from});
}

sub log_offset { -s $_[0]{error_log} // 0 }

# PostgreSQL's log (t/run exports it as DASH_PGLOG; undef when not known):
# its text from a byte offset, and its size now
sub pg_log {
    my ($self, %o) = @_;
    my $log = $self->cluster->{log};
    return defined $log ? $self->_slurp($log, $o{from}) : '';
}

sub pg_log_offset {
    my ($self) = @_;
    my $log = $self->cluster->{log};
    return defined $log ? (-s $log // 0) : 0;
}

# wait until the error log (from an offset) matches; returns the match or undef
sub wait_for_log {
    my ($self, $re, %o) = @_;
    my $deadline = time + ($o{timeout} // 5) * _slow_factor();
    while (1) {
        my $txt = $self->error_log(from => $o{from});
        return $1 // $& if $txt =~ $re;
        return undef if time >= $deadline;
        sleep 0.05;
    }
}

# lines matching these regexes are not reported by the final log check
sub allow_log {
    my ($self, @re) = @_;
    push @{ $self->{allow_log} }, @re;
}

# poll a sub until it returns true; returns its last value
sub wait_until {
    my ($self, $cb, %o) = @_;
    my $deadline = time + ($o{timeout} // 5) * _slow_factor();
    while (1) {
        my $v = $cb->();
        return $v if $v || time >= $deadline;
        sleep $o{interval} // 0.05;
    }
}

# ---------------------------------------------------------------------------
# HTTP

# $t->api($method, $path, body => $ref_or_raw, key => $key, headers => {...})
# returns { status, reason, headers, raw, json, content_type }
sub api {
    my ($self, $method, $path, %o) = @_;
    my %h = %{ $o{headers} // {} };
    my $key = exists $o{key} ? $o{key} : $self->{key};
    $h{Authorization} = "Bearer $key" if defined $key && !exists $h{Authorization}
                                         && !grep { lc $_ eq 'authorization' } keys %h;
    my %args = (headers => \%h);
    if (exists $o{body}) {
        my $b = $o{body};
        if (ref $b) {
            $b = $JSON->encode($b);
        } elsif (defined $b && is_utf8($b)) {
            $b = encode_utf8($b);
        }
        if (defined $b) {
            $args{content} = $b;
            $h{'Content-Type'} //= 'application/json'
                unless grep { lc $_ eq 'content-type' } keys %h;
        }
    }
    my $url = $path =~ m{^https?://} ? $path : $self->url($path);
    my $res = $self->{http}->request(uc $method, $url, \%args);
    return _response($res);
}

sub _response {
    my ($res) = @_;
    my $raw = $res->{content} // '';
    my $ct  = $res->{headers}{'content-type'} // '';
    my $json;
    if ($raw ne '' && ($ct =~ /json/i || $raw =~ /^\s*[\[{"]/)) {
        $json = eval { $JSON->decode($raw) };
    }
    return {
        status       => $res->{status},
        reason       => $res->{reason},
        headers      => $res->{headers},
        raw          => $raw,
        json         => $json,
        content_type => $ct,
        ($res->{status} == 599 ? (error => $raw) : ()),
    };
}

sub get    { my $s = shift; $s->api(GET    => @_) }
sub post   { my $s = shift; $s->api(POST   => @_) }
sub put    { my $s = shift; $s->api(PUT    => @_) }
sub patch  { my $s = shift; $s->api(PATCH  => @_) }
sub delete { my $s = shift; $s->api(DELETE => @_) }

# Send raw bytes, read until the server closes (or timeout); returns the raw
# response bytes. For malformed-request tests.
sub http_raw {
    my ($self, $request, %o) = @_;
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $o{port} // $self->{port},
                                  Proto => 'tcp', Timeout => 5)
        or croak "connect: $!";
    binmode $s;
    print $s $request;
    shutdown($s, 1) if $o{half_close};
    my $sel = IO::Select->new($s);
    my $buf = '';
    my $deadline = time + ($o{timeout} // 10) * _slow_factor();
    while (time < $deadline) {
        last unless $sel->can_read($deadline - time);
        my $n = sysread($s, $buf, 65536, length $buf);
        last unless $n;
    }
    close $s;
    return $buf;
}

# parse a raw HTTP/1.x response into the api() hashref shape
sub parse_response {
    my ($raw) = @_;
    my ($head, $body) = split /\r\n\r\n/, $raw, 2;
    $body //= '';
    my @lines = split /\r\n/, $head // '';
    my $sl = shift @lines // '';
    my ($status, $reason) = $sl =~ m{^HTTP/\d\.\d\s+(\d+)\s*(.*)$} or return { status => 599, raw => $raw };
    my %h;
    for (@lines) {
        my ($k, $v) = /^([^:]+):\s*(.*)$/ or next;
        $k = lc $k;
        $h{$k} = exists $h{$k} ? (ref $h{$k} ? [ @{ $h{$k} }, $v ] : [ $h{$k}, $v ]) : $v;
    }
    if (($h{'transfer-encoding'} // '') =~ /chunked/i) {
        my $out = '';
        while ($body =~ s/^([0-9a-fA-F]+)[^\r\n]*\r\n//) {
            my $n = hex $1;
            last if $n == 0;
            $out .= substr($body, 0, $n, '');
            $body =~ s/^\r\n//;
        }
        $body = $out;
    }
    return _response({ status => $status, reason => $reason, headers => \%h, content => $body });
}

# Run $cb->($i) in N forked processes at (nearly) the same moment; returns an
# arrayref of their return values (JSON-serialisable data) in index order.
# A child that dies returns { died => "message" }.
sub parallel {
    my ($self, $n, $cb, %o) = @_;
    pipe(my $go_r, my $go_w) or croak "pipe: $!";
    my @kids;
    for my $i (0 .. $n - 1) {
        pipe(my $r, my $w) or croak "pipe: $!";
        my $pid = fork // croak "fork: $!";
        if (!$pid) {
            close $go_w;
            close $r;
            my $x = '';
            sysread($go_r, $x, 1);              # wait for the start signal (EOF)
            my $res = eval { { ok => $cb->($i) } } // { died => "$@" };
            my $out = eval { $JSON->encode($res) } // $JSON->encode({ died => "result not serialisable: $@" });
            binmode $w;
            print $w $out;
            close $w;
            POSIX::_exit(0);
        }
        close $w;
        push @kids, [ $pid, $r ];
    }
    close $go_r;
    sleep($o{delay} // 0.05);
    close $go_w;                                # everyone starts now
    my @res;
    for my $k (@kids) {
        my ($pid, $r) = @$k;
        binmode $r;
        my $data = do { local $/; <$r> } // '';
        close $r;
        waitpid $pid, 0;
        my $v = eval { $JSON->decode($data) } // { died => "no result from child (status $?)" };
        push @res, exists $v->{ok} ? $v->{ok} : $v;
    }
    return \@res;
}

# fire N identical API requests at once; returns the api() results
sub burst {
    my ($self, $n, $method, $path, %o) = @_;
    return $self->parallel($n, sub {
        my $r = $self->api($method, $path, %o);
        delete $r->{headers} unless $o{keep_headers};
        return $r;
    });
}

# ---------------------------------------------------------------------------
# SQL on this test's database

sub sql {
    my ($self, $sql, @bind) = @_;
    return $self->{cluster}->psql_kept($self->{db}, $sql, @bind);
}

sub sql_value {
    my ($self, $sql, @bind) = @_;
    my $rows = $self->sql($sql, @bind);
    return @$rows ? $rows->[0][0] : undef;
}

# first row as a hashref, decoded from row_to_json: $t->sql_row('SELECT * FROM t WHERE id=$1', 5)
sub sql_row {
    my ($self, $sql, @bind) = @_;
    my $v = $self->sql_value("SELECT row_to_json(q) FROM ($sql) q LIMIT 1", @bind);
    return defined $v ? $JSON->decode(encode_utf8($v)) : undef;
}

# all rows as hashrefs
sub sql_rows {
    my ($self, $sql, @bind) = @_;
    my $v = $self->sql_value("SELECT coalesce(json_agg(q), '[]') FROM ($sql) q", @bind);
    return $JSON->decode(encode_utf8($v));
}

sub row {
    my ($self, $table, $id) = @_;
    croak "bad table name" unless $table =~ /^\w+$/;
    return $self->sql_row("SELECT * FROM $table WHERE id = \$1", $id);
}

sub quote { Dash::Cluster::quote($_[1]) }

# every row of these tables, by id: { table => [ rows as hashrefs ] }, to
# compare before and after a request that must change nothing
sub snapshot {
    my ($self, @tables) = @_;
    return { map { $_ => $self->sql_rows("SELECT * FROM $_ ORDER BY id") } @tables };
}

# the state of some tables as one string, to compare before and after a
# request that must change nothing: $t->db_state(table => 'rows' | 'count', ...)
# gives, in that order, each table's row count and, for 'rows', the md5 of
# all its rows by id, joined with ' | '
sub db_state {
    my ($self, @spec) = @_;
    my @parts;
    while (my ($table, $what) = splice @spec, 0, 2) {
        croak "bad table name" unless $table =~ /^\w+$/;
        push @parts, "(SELECT count(*) FROM $table)";
        push @parts, "(SELECT md5(coalesce(string_agg(x::text, ',' ORDER BY x.id), '')) FROM $table x)"
            if $what eq 'rows';
    }
    return $self->sql_value("SELECT concat_ws(' | ', " . join(', ', @parts) . ')');
}

# A trigger function $name() that makes a write fail: it raises
# 'test trigger: boom' when $condition (SQL on NEW, OLD, TG_OP) holds. That
# message is allowed in the error log. trigger_on/trigger_off attach it as a
# BEFORE ... FOR EACH ROW trigger of the same name, and drop it.
sub failing_trigger {
    my ($self, $name, $condition) = @_;
    croak "bad trigger name" unless $name =~ /^\w+$/;
    $self->sql(qq{
        CREATE FUNCTION $name() RETURNS trigger LANGUAGE plpgsql AS \$\$
        BEGIN
            IF $condition THEN
                RAISE EXCEPTION 'test trigger: boom';
            END IF;
            RETURN NEW;
        END \$\$});
    $self->allow_log(qr/test trigger: boom/);
}

sub trigger_on {
    my ($self, $name, $table, $events) = @_;
    $self->sql("CREATE TRIGGER $name BEFORE $events ON $table FOR EACH ROW EXECUTE FUNCTION $name()");
}

sub trigger_off {
    my ($self, $name, $table) = @_;
    $self->sql("DROP TRIGGER IF EXISTS $name ON $table");
}

# ---------------------------------------------------------------------------
# PostgreSQL control (private clusters only for stop/start)

sub _own_cluster {
    my ($self, $what) = @_;
    croak "$what needs a cluster of this test's own: Dash->new(private_cluster => 1)"
        unless $self->{cluster}->owned && $self->{opts}{private_cluster};
    return $self->{cluster};
}

sub pg_stop    { my ($s, $mode) = @_; $s->_own_cluster('pg_stop')->stop($mode // 'fast') }
sub pg_start   { $_[0]->_own_cluster('pg_start')->pg_ctl_start }
sub pg_restart { $_[0]->_own_cluster('pg_restart')->restart }

# terminate the backends of our module (by application_name); returns how many
sub pg_terminate_backends {
    my ($self, $app) = @_;
    $app //= 'ngx_dashboards';
    return $self->{cluster}->psql('postgres',
        'SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
          WHERE application_name = $1 AND datname = $2 AND pid <> pg_backend_pid()',
        $app, $self->{db})->[0][0];
}

# number of backends of our module on this test's database (optionally in a state)
sub pg_backends {
    my ($self, $app, $state) = @_;
    $app //= 'ngx_dashboards';
    return $self->{cluster}->psql('postgres',
        'SELECT count(*) FROM pg_stat_activity WHERE application_name = $1 AND datname = $2'
        . (defined $state ? ' AND state = $3' : ''),
        $app, $self->{db}, (defined $state ? $state : ()))->[0][0];
}

# ---------------------------------------------------------------------------
# fixtures (PostHog's tables; required columns the caller does not give are
# filled from their type when the schema has no default)

my %COLS;   # table -> { col => {type, udt, required} }

sub _columns {
    my ($self, $table) = @_;
    return $COLS{$self->{db}}{$table} //= do {
        my $rows = $self->sql(q{
            SELECT column_name, data_type, udt_name,
                   (is_nullable = 'NO' AND column_default IS NULL
                    AND is_identity = 'NO' AND is_generated = 'NEVER')::int,
                   character_maximum_length
              FROM information_schema.columns
             WHERE table_schema = 'public' AND table_name = $1}, $table);
        croak "table $table does not exist" unless @$rows;
        +{ map { $_->[0] => { type => $_->[1], udt => $_->[2], required => $_->[3], len => $_->[4] } } @$rows };
    };
}

sub has_table {
    my ($self, $table) = @_;
    return $self->sql_value(q{SELECT to_regclass($1) IS NOT NULL}, $table) eq 't';
}

sub _auto_value {
    my ($col, $c) = @_;
    my $t = $c->{type};
    return \'gen_random_uuid()' if $t eq 'uuid';
    return \'now()' if $t =~ /^(timestamp|date|time)/;
    return 0 if $t =~ /^(integer|smallint|bigint|numeric|real|double)/;
    return 'false' if $t eq 'boolean';
    return '{}' if $t =~ /^json/;
    return '{}' if $t eq 'ARRAY';
    my $v = $col . '_' . random_string(8);
    $v = substr($v, -$c->{len}) if $c->{len} && length($v) > $c->{len};
    return $v;
}

# INSERT a row; returns the inserted row as a hashref
sub insert {
    my ($self, $table, $vals) = @_;
    croak "bad table name" unless $table =~ /^\w+$/;
    my $cols = $self->_columns($table);
    my %v = %$vals;
    for my $k (keys %v) {
        croak "$table has no column $k" unless $cols->{$k};
    }
    for my $k (sort keys %$cols) {
        next if exists $v{$k} || !$cols->{$k}{required};
        $v{$k} = _auto_value($k, $cols->{$k});
    }
    my @k = sort keys %v;
    my $sql = @k
        ? "INSERT INTO $table (" . join(', ', map { qq{"$_"} } @k) . ') VALUES ('
          . join(', ', map { _literal($v{$_}, $cols->{$_}) } @k) . ') RETURNING row_to_json(' . $table . ')'
        : "INSERT INTO $table DEFAULT VALUES RETURNING row_to_json($table)";
    my $json = $self->sql_value($sql);
    return $JSON->decode(encode_utf8($json));
}

sub _literal {
    my ($v, $c) = @_;
    return Dash::Cluster::quote($v) if ref $v eq 'SCALAR';
    if ($c && $c->{type} eq 'boolean' && defined $v && !ref $v) {
        return $v && $v ne 'f' && $v ne 'false' ? 'true' : 'false';
    }
    if ($c && $c->{type} =~ /^json/ && defined $v) {
        return Dash::Cluster::quote(ref $v ? $JSON->encode($v) : $v);
    }
    return Dash::Cluster::quote($v);
}

sub random_string {
    my ($n, $alphabet) = @_;
    my @a = split //, $alphabet // join('', 0 .. 9, 'a' .. 'z', 'A' .. 'Z');
    my $s = '';
    if (open my $fh, '<', '/dev/urandom') {
        binmode $fh;
        while (length $s < $n) {
            read($fh, my $b, 64) or last;
            for my $c (unpack 'C*', $b) {
                next if $c >= int(256 / @a) * @a;          # no modulo bias
                $s .= $a[$c % @a];
                last if length $s >= $n;
            }
        }
    }
    $s .= $a[int rand @a] while length $s < $n;
    return $s;
}

sub _id { my $v = shift; ref $v eq 'HASH' ? $v->{id} : $v }

sub _take {
    my ($o, @names) = @_;
    return map { delete $o->{$_} } @names;
}

sub fixture_org {
    my ($self, %o) = @_;
    my $n = ++$self->{seq};
    my $row = $self->insert(posthog_organization => {
        name => "Org $n",
        slug => "org-$n-" . lc random_string(6),
        %o,
    });
    return $row->{id};
}

# level: 1 member, 8 admin, 15 owner
sub fixture_user {
    my ($self, %o) = @_;
    my ($org, $level, $active, $team) = _take(\%o, qw(org level active team));
    $org = _id($org);
    my $n = ++$self->{seq};
    my $row = $self->insert(posthog_user => {
        email       => "user$n." . lc(random_string(6)) . '@example.com',
        first_name  => "User$n",
        last_name   => '',
        password    => '',
        is_active   => ($active // 1) ? 'true' : 'false',
        distinct_id => random_string(20),
        (defined $org ? (current_organization_id => $org) : ()),
        (defined $team ? (current_team_id => _id($team)) : ()),
        %o,
    });
    $self->fixture_membership(org => $org, user => $row->{id}, level => $level // 1) if defined $org;
    return $row->{id};
}

sub fixture_membership {
    my ($self, %o) = @_;
    my $row = $self->insert(posthog_organizationmembership => {
        organization_id => _id($o{org}),
        user_id         => _id($o{user}),
        level           => $o{level} // 1,
    });
    return $row->{id};
}

# posthog_project + posthog_team with the same id; returns the id
sub fixture_project {
    my ($self, %o) = @_;
    my ($org, $name, $id) = _take(\%o, qw(org name id));
    croak "fixture_project needs org" unless defined $org;
    $org = _id($org);
    my $n = ++$self->{seq};
    $name //= "Project $n";
    $id //= $self->sql_value(q{SELECT nextval(pg_get_serial_sequence('posthog_team', 'id'))});
    $self->insert(posthog_project => { id => $id, organization_id => $org, name => $name });
    $self->insert(posthog_team => {
        id => $id, project_id => $id, organization_id => $org, name => $name,
        api_token => 'phc_' . random_string(40), %o,
    });
    return $id;
}

# an extra environment (team) inside an existing project; returns the team id
sub fixture_team {
    my ($self, %o) = @_;
    my ($project, $name) = _take(\%o, qw(project name));
    my $p = $self->sql_row('SELECT * FROM posthog_project WHERE id = $1', _id($project))
        or croak "no project " . _id($project);
    my $n = ++$self->{seq};
    my $row = $self->insert(posthog_team => {
        project_id => $p->{id}, organization_id => $p->{organization_id},
        name => $name // "Environment $n", api_token => 'phc_' . random_string(40), %o,
    });
    return $row->{id};
}

# returns the plaintext key; stored as sha256$<hex>
sub fixture_key {
    my ($self, %o) = @_;
    my ($user, $scopes, $teams, $orgs, $key) =
        _take(\%o, qw(user scopes scoped_teams scoped_organizations key));
    croak "fixture_key needs user" unless defined $user;
    $key //= 'phx_' . random_string(43);
    my $row = $self->insert(posthog_personalapikey => {
        id                   => random_string(30),
        user_id              => _id($user),
        label                => 'test key ' . ++$self->{seq},
        secure_value         => 'sha256$' . sha256_hex($key),
        mask_value           => substr($key, 0, 4) . '...' . substr($key, -4),
        scopes               => $scopes // ['*'],
        scoped_teams         => $teams,
        scoped_organizations => $orgs ? [ map { _id($_) } @$orgs ] : undef,
        created_at           => \'now()',
        %o,
    });
    $self->{key_ids}{$key} = $row->{id};
    return $key;
}

sub key_id { $_[0]{key_ids}{$_[1]} }

sub fixture_dashboard {
    my ($self, %o) = @_;
    my ($team, $user, $tags) = _take(\%o, qw(team user tags));
    croak "fixture_dashboard needs team" unless defined $team;
    $team = _id($team);
    my $n = ++$self->{seq};
    my $row = $self->insert(posthog_dashboard => {
        name              => "Dashboard $n",
        description       => '',
        team_id           => $team,
        pinned            => 0,
        created_at        => \'now()',
        created_by_id     => _id($user),
        deleted           => 0,
        filters           => {},
        variables         => {},
        breakdown_colors  => [],
        creation_mode     => 'default',
        restriction_level => 21,
        quick_filter_ids  => [],
        is_shared         => 0,
        %o,
    });
    $self->fixture_tag(dashboard => $row->{id}, team => $team, name => $_) for @{ $tags // [] };
    return $row->{id};
}

sub fixture_tag {
    my ($self, %o) = @_;
    my $team = _id($o{team});
    my $tag = $self->sql_value(q{
        INSERT INTO posthog_tag (id, name, team_id) VALUES (gen_random_uuid(), $1, $2)
        ON CONFLICT (name, team_id) DO UPDATE SET name = EXCLUDED.name RETURNING id}, $o{name}, $team);
    my %fk = (dashboard => 'dashboard_id', insight => 'insight_id');
    for my $k (keys %fk) {
        next unless defined $o{$k};
        $self->insert(posthog_taggeditem => { tag_id => $tag, $fk{$k} => _id($o{$k}) });
    }
    return $tag;
}

# a text tile; returns the tile id (list context: tile id, text id)
sub fixture_text_tile {
    my ($self, %o) = @_;
    my ($dash, $body, $user, $layouts) = _take(\%o, qw(dashboard body user layouts));
    my $d = $self->row(posthog_dashboard => _id($dash)) or croak "no dashboard " . _id($dash);
    $user = _id($user) // $d->{created_by_id};
    my $text = $self->insert(posthog_text => {
        body => $body // 'text ' . ++$self->{seq}, team_id => $d->{team_id},
        created_by_id => $user, last_modified_by_id => $user, last_modified_at => \'now()',
    });
    my $tile = $self->insert(posthog_dashboardtile => {
        dashboard_id => $d->{id}, text_id => $text->{id}, team_id => $d->{team_id},
        layouts => $layouts // {}, filters_overrides => {}, deleted => 0, %o,
    });
    return wantarray ? ($tile->{id}, $text->{id}) : $tile->{id};
}

sub fixture_insight {
    my ($self, %o) = @_;
    my ($team, $user) = _take(\%o, qw(team user));
    $team = _id($team);
    my $n = ++$self->{seq};
    my $row = $self->insert(posthog_dashboarditem => {
        name => "Insight $n", team_id => $team, short_id => random_string(8),
        filters => {}, created_by_id => _id($user), last_modified_by_id => _id($user),
        created_at => \'now()', last_modified_at => \'now()', updated_at => \'now()',
        %o,
    });
    return $row->{id};
}

sub fixture_insight_tile {
    my ($self, %o) = @_;
    my ($dash, $insight, $layouts) = _take(\%o, qw(dashboard insight layouts));
    my $d = $self->row(posthog_dashboard => _id($dash)) or croak "no dashboard";
    $insight //= $self->fixture_insight(team => $d->{team_id}, user => $d->{created_by_id});
    my $tile = $self->insert(posthog_dashboardtile => {
        dashboard_id => $d->{id}, insight_id => _id($insight), team_id => $d->{team_id},
        layouts => $layouts // {}, filters_overrides => {}, deleted => 0, %o,
    });
    return wantarray ? ($tile->{id}, _id($insight)) : $tile->{id};
}

# org + project/team + admin user (current team set) + key with scope '*';
# the key becomes the default key of api(). Returns
# { org, project, team, user, key, key_id }.
sub world {
    my ($self, %o) = @_;
    my $org  = $self->fixture_org(%{ $o{org} // {} });
    my $proj = $self->fixture_project(org => $org);
    my $user = $self->fixture_user(org => $org, level => $o{level} // 8, team => $proj);
    my $key  = $self->fixture_key(user => $user, scopes => $o{scopes} // ['*']);
    $self->{key} = $key unless $o{no_default_key};
    return { org => $org, project => $proj, team => $proj, user => $user,
             key => $key, key_id => $self->{key_ids}{$key} };
}

# ---------------------------------------------------------------------------
# final checks: stop nginx, check its logs, drop the database

sub _sanitizer_report {
    my ($self) = @_;
    my $dir = "$self->{prefix}/san";
    my @bad;
    opendir my $d, $dir or return ();
    for my $f (sort grep { !/^\./ } readdir $d) {
        my $txt = $self->_slurp("$dir/$f");
        if ($f =~ /^asan/) {
            if ($txt =~ /ERROR: (Address|Undefined)Sanitizer|runtime error:/) {
                push @bad, "$f:\n$txt";
            } elsif ($txt =~ /ERROR: LeakSanitizer/) {
                # nginx itself is not built for ASan and leaves some memory
                # behind at exit (e.g. a worker frees its cycle pool but not
                # the connection and event arrays): only leaks allocated
                # through the module count.
                my @ours = grep { /^(Direct|Indirect) leak of/ && /$MODULE_FRAME/ }
                           split /\n(?=(?:Direct|Indirect) leak of )/, $txt;
                push @bad, "$f: leaks allocated through the module:\n" . join("\n", @ours) if @ours;
            }
        } elsif ($f =~ /^vg\./) {
            # valgrind -q prints only errors and leak records, one record per
            # paragraph. Memory errors count wherever they are; leaks only
            # when allocated through the module (nginx leaves some of its own
            # memory behind at exit).
            my @rec = grep { /\S/ } split /^==\d+==\s*\n/m, $txt;
            my @errs = grep { /^==\d+== (Invalid|Conditional jump|Use of uninitialised|Syscall param|Mismatched|Source and destination|Argument|Process terminating)/ } @rec;
            my @leaks = grep { /are definitely lost/ && /$MODULE_FRAME/ } @rec;
            push @bad, "$f:\n" . join('', @errs, @leaks) if @errs || @leaks;
        }
    }
    return @bad;
}

# the error log without the parts written by test_conf()
sub _checked_log {
    my ($self) = @_;
    my $log = $self->error_log;
    for my $r (sort { $b->[0] <=> $a->[0] } @{ $self->{ignore_ranges} // [] }) {
        substr($log, $r->[0], $r->[1] - $r->[0], '') if $r->[1] <= length $log;
    }
    return $log;
}

# stop nginx and add the standard tests; idempotent
sub finish {
    my ($self) = @_;
    return if $self->{checked} || $$ != $self->{creator};
    $self->{checked} = 1;
    return $self->_cleanup(0) unless $self->{prefix};      # died in new()
    my $tb = _tb();
    my $name = "nginx :$self->{port}";
    local $Test::Builder::Level = $Test::Builder::Level + 1;

    if ($self->{nginx_pid}) {
        my $graceful = $self->stop;
        $tb->ok($graceful, "$name: stopped gracefully on SIGQUIT")
            or $tb->diag($self->{stop_problem} // '');
    }
    my $log = $self->_checked_log;
    my @lines = grep { /\[(alert|crit|emerg)\]/ } split /\n/, $log;
    for my $re (@{ $self->{allow_log} }) {
        @lines = grep { $_ !~ $re } @lines;
    }
    $tb->ok(!@lines, "$name: no [alert], [crit] or [emerg] in error.log")
        or $tb->diag(join "\n", @lines[0 .. ($#lines > 20 ? 20 : $#lines)]);
    my @sig = grep { /exited on signal|exited with fatal code/ } split /\n/, $log;
    $tb->ok(!@sig, "$name: no worker crashed") or $tb->diag(join "\n", @sig);
    if (sanitizer()) {
        my @bad = $self->_sanitizer_report;
        $tb->ok(!@bad, "$name: no " . sanitizer() . " errors") or $tb->diag(join "\n", @bad);
    }
    # keep the prefix of a failing file for a look (not in CI, nobody looks)
    my $failed = grep { !$_ } $tb->summary;
    $self->_cleanup($failed && !$ENV{CI});
}

sub _cleanup {
    my ($self, $keep) = @_;
    $self->_kill_nginx if $self->{nginx_pid};
    $self->{cluster}->kept_close($self->{db}) if $self->{cluster} && $self->{db};
    if ($self->{db_created} && $self->{cluster} && $self->{cluster}{running}) {
        eval { $self->{cluster}->psql('postgres', qq{DROP DATABASE IF EXISTS "$self->{db}" WITH (FORCE)}) };
        $self->{db_created} = 0;
    }
    if ($self->{opts}{private_cluster} && $self->{cluster}) {
        $self->{cluster}->destroy;
    }
    if ($keep || $ENV{DASH_KEEP}) {
        Test::More->builder->diag("kept nginx prefix $self->{prefix}") if $keep;
    } else {
        remove_tree($self->{prefix}) if $self->{prefix};
    }
}

sub DESTROY {
    my ($self) = @_;
    return if $$ != ($self->{creator} // 0);
    local ($?, $@, $!);
    if (!$self->{checked}) {
        if ($FINAL_DONE || ${^GLOBAL_PHASE} eq 'DESTRUCT') {
            $self->{checked} = 1;
            $self->_cleanup(0);
        } else {
            $self->finish;
        }
    }
}

sub _final_checks {
    return if $FINAL_DONE || $$ != $CREATOR;
    for my $t (grep { defined } @LIVE) {
        eval { $t->finish; 1 } or Test::More->builder->diag("final checks: $@");
    }
    $FINAL_DONE = 1;
}

# run the checks before done_testing() closes the plan
{
    no warnings 'redefine';
    my $orig = \&Test::Builder::done_testing;
    *Test::Builder::done_testing = sub {
        _final_checks();
        goto &$orig;
    };
}

END {
    if ($$ == $CREATOR) {
        my $st = $?;
        my $tb = Test::More->builder;
        # a file that died or used a numeric plan: still stop nginx; report only
        # when tests can still be added
        if (!$FINAL_DONE) {
            if ($tb->has_plan && $tb->has_plan ne 'no_plan') {
                for my $t (grep { defined } @LIVE) {
                    $t->{checked} = 1;
                    my $graceful = $t->stop;
                    my @bad = grep { /\[(alert|crit|emerg)\]|exited on signal/ } split /\n/, $t->_checked_log;
                    for my $re (@{ $t->{allow_log} }) { @bad = grep { $_ !~ $re } @bad }
                    push @bad, $t->_sanitizer_report if sanitizer();
                    push @bad, $t->{stop_problem} if !$graceful;
                    if (@bad) {
                        $tb->diag("nginx :$t->{port}: problems (use done_testing to have them as tests):\n"
                                  . join("\n", @bad));
                        $tb->is_passing(0);
                    }
                    $t->_cleanup(0);
                }
                $FINAL_DONE = 1;
            } else {
                _final_checks();
            }
        }
        if ($OWN_CLUSTER) {
            $OWN_CLUSTER->destroy;
            undef $OWN_CLUSTER;
        }
        $? = $st;
    }
}

1;
