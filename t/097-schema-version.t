#!/usr/bin/perl
# The SQL functions live in schema ngx_dashboards with a version the module
# checks once per new connection: functions of another migration are never
# called, the request gets a JSON 503 and the error log says which version
# was expected and which was found. The module's statements name the
# schema, so they work whatever the session's search_path (a pooler that
# takes no startup options); sql/migrate drops the copies earlier installs
# left in public.

use strict;
use warnings;
use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use Dash;

my $ROOT = $Dash::ROOT;

sub slurp {
    my ($f) = @_;
    open my $fh, '<', $f or die "$f: $!";
    local $/;
    return <$fh>;
}

my %BODY = (
    unavailable => { type => 'server_error', code => 'database_unavailable',
                     detail => 'The database is unavailable. Please try again later.', attr => undef },
);

my $t = Dash->new(workers => 1);
my $w = $t->world;
my $d = $t->fixture_dashboard(team => $w->{team}, user => $w->{user}, name => 'Versioned');
my $list = "/api/projects/$w->{project}/dashboards/";
my $one  = "/api/projects/$w->{project}/dashboards/$d/";

sub migrate {
    my @cmd = ("$ROOT/sql/migrate", '-h', $t->pg_host, '-p', $t->pg_port, '-U', 'postgres',
               '-d', $t->db);
    my $out = qx{@cmd 2>&1};
    is $?, 0, 'sql/migrate runs' or diag $out;
    return $out;
}

# --- the version: one constant in C, one in SQL, and the database's --------------

my ($c_version) = slurp("$ROOT/src/ngx_http_dashboards_module.h")
    =~ /#define\s+NGX_HTTP_DASHBOARDS_SQL_VERSION\s+"([^"]+)"/;
ok defined $c_version, "the module's version: $c_version";
my ($sql_version) = slurp("$ROOT/sql/migrations/099_version.sql")
    =~ /FUNCTION ngx_dashboards_version\(\).*?SELECT\s+'([^']+)'/s;
is $sql_version, $c_version, '099_version.sql returns the version compiled into the module';
is $t->sql_value('SELECT ngx_dashboards.ngx_dashboards_version()'), $c_version,
    'and so does the migrated database';
my @files = sort glob("$ROOT/sql/migrations/*.sql");
like $files[-1], qr{/099_version\.sql$}, '099_version.sql is the last migration';

# --- where the functions are -------------------------------------------------------

my $in = sub {
    $t->sql_value(q{SELECT count(*) FROM pg_proc WHERE proname LIKE 'ngx\_dashboards\_%'
                     AND pronamespace = $1::regnamespace}, $_[0]);
};
cmp_ok $in->('ngx_dashboards'), '>', 50, 'the functions are in schema ngx_dashboards';
is $in->('public'), 0, 'none in public';

# every statement of the module names the schema, and its function sets the
# search_path of the functions it calls
my $src = slurp("$ROOT/src/ngx_http_dashboards_sql.c");
my @called = $src =~ /\b(\w*ngx_dashboards_\w+)\(/g;
my @qualified = $src =~ /ngx_dashboards\.(ngx_dashboards_\w+)\(/g;
cmp_ok scalar(@qualified), '>=', 19, 'the statements call ' . scalar(@qualified) . ' functions';
is scalar(@called), scalar(@qualified), 'every function of src/ngx_http_dashboards_sql.c is named with its schema';
for my $f (@qualified) {
    my $cfg = $t->sql_value(q{SELECT string_agg(array_to_string(proconfig, ' '), '; ')
                                FROM pg_proc WHERE proname = $1
                                 AND pronamespace = 'ngx_dashboards'::regnamespace}, $f);
    # (and may set planner settings of its own: ngx_dashboards_retrieve's
    # enable_seqscan, 004_dashboards.sql)
    like $cfg, qr/(?:^| )search_path=ngx_dashboards, public(?:$| )/, "$f sets search_path";
}

# --- the module works whatever the session's search_path -------------------------

{
    my $db = $t->db;
    $t->sql(qq{ALTER DATABASE "$db" SET search_path = pg_catalog});
    # nothing sent at connection time, as behind pgbouncer
    $t->reload(database_extra => "statement_timeout off;\nlock_timeout off;");
    is $t->api(GET => $list)->{status}, 200, 'search_path without the schema, no startup options: list 200';
    my $r = $t->api(GET => $one);
    is $r->{status}, 200, 'retrieve 200';
    is $r->{json}{name}, 'Versioned', 'the dashboard';
    $r = $t->api(PATCH => $one, body => { name => 'Patched', tags => ['a'] });
    is $r->{status}, 200, 'PATCH 200';
    is_deeply $r->{json}{tags}, ['a'], 'with tags';
    $r = $t->api(POST => $list, body => { name => 'Created' });
    is $r->{status}, 201, 'create 201';
    $r = $t->api(POST => "$list$d/create_text_tile/", body => { body => 'hello' });
    cmp_ok $r->{status}, '<', 300, 'create_text_tile ' . $r->{status};
    is $t->api(GET => "/api/users/\@me/")->{status}, 200, '@me 200';
    $t->sql(qq{ALTER DATABASE "$db" RESET search_path});
    $t->reload(database_extra => undef);
}

# --- a database whose functions are of another version ----------------------------

$t->sql(q{CREATE OR REPLACE FUNCTION ngx_dashboards.ngx_dashboards_version() RETURNS text
          LANGUAGE sql AS $$ SELECT '0-old' $$});
$t->reload;
{
    $t->allow_log(qr/dashboards: the SQL functions in the database are version/);
    my $from = $t->log_offset;
    my $r = $t->api(GET => $list);
    is $r->{status}, 503, 'functions of another version: 503';
    like $r->{headers}{'content-type'}, qr{^application/json}, 'JSON';
    is_deeply $r->{json}, $BODY{unavailable}, 'database_unavailable';
    like $t->error_log(from => $from),
        qr/\[error\].*the SQL functions in the database are version "0-old", this module expects version "\Q$c_version\E"/,
        'the error log says which version was expected and which was found';
    ok $t->wait_until(sub { $t->pg_backends == 0 }), 'the connection is closed';
    $r = $t->api(PATCH => $one, body => { name => 'Never' });
    is $r->{status}, 503, 'a PATCH: 503';
    is $t->row(posthog_dashboard => $d)->{name}, 'Patched', 'and nothing changed';
}

# no version function at all (functions installed before there was one)
$t->sql('DROP FUNCTION ngx_dashboards.ngx_dashboards_version()');
$t->reload;
{
    $t->allow_log(qr/dashboards: no version of the SQL functions/);
    my $from = $t->log_offset;
    my $r = $t->api(GET => $list);
    is $r->{status}, 503, 'no version function: 503';
    is_deeply $r->{json}, $BODY{unavailable}, 'database_unavailable';
    like $t->error_log(from => $from),
        qr/\[error\].*no version of the SQL functions in the database \(this module expects version "\Q$c_version\E"; apply sql\/migrate/,
        'the error log says so';
}

# --- sql/migrate: brings the version back, drops the copies left in public ---------

$t->sql(q{CREATE FUNCTION public.ngx_dashboards_me(p_user_id int) RETURNS json
          LANGUAGE sql AS $$ SELECT '{"old": true}'::json $$});
$t->sql(q{CREATE FUNCTION public.ngx_dashboards_list(p_user_id int) RETURNS json
          LANGUAGE sql AS $$ SELECT 'null'::json $$});
$t->sql(q{CREATE FUNCTION public.ngx_dashboards_someone_elses() RETURNS int
          LANGUAGE sql AS $$ SELECT 1 $$});
migrate();
is $t->sql_value('SELECT ngx_dashboards.ngx_dashboards_version()'), $c_version, 'the version is back';
is $t->sql_value(q{SELECT string_agg(proname, ',' ORDER BY proname) FROM pg_proc
                    WHERE pronamespace = 'public'::regnamespace AND proname LIKE 'ngx\_dashboards\_%'}),
    'ngx_dashboards_someone_elses',
    'the old copies in public are dropped (same arguments or not), other functions are left alone';
$t->sql('DROP FUNCTION public.ngx_dashboards_someone_elses()');
migrate();
$t->reload;
my $r = $t->api(GET => $list);
is $r->{status}, 200, 'migrated again: 200';
is $r->{json}{count}, 2, 'with the list';
$r = $t->api(GET => "/api/users/\@me/");
is $r->{status}, 200, '@me 200';
ok !exists $r->{json}{old}, 'from the schema\'s function';

# --- sql/migrate whatever the session's search_path -------------------------------
# (PGOPTIONS or ALTER ROLE .. SET search_path with the functions' schema first:
# the tables and the bookkeeping stay in public, nothing is applied twice)

{
    my $applied = $t->sql_value('SELECT count(*) FROM public.ngx_dashboards_migrations');
    local $ENV{PGOPTIONS} = '-c search_path=ngx_dashboards,public';
    my $out = migrate();
    unlike $out, qr/migrate: applying/, 'with ngx_dashboards first in the search_path: nothing applied again';
    is $t->sql_value(q{SELECT count(*) FROM pg_class
                        WHERE relnamespace = 'ngx_dashboards'::regnamespace AND relkind = 'r'}), 0,
        'no table in schema ngx_dashboards';
    is $t->sql_value('SELECT count(*) FROM public.ngx_dashboards_migrations'), $applied,
        'the bookkeeping is the one in public';
    is $t->sql_value('SELECT ngx_dashboards.ngx_dashboards_version()'), $c_version, 'the version';
}
is $t->api(GET => $list)->{status}, 200, 'and the list answers';

done_testing;
