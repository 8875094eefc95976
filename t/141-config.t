#!/usr/bin/perl
# The module's config script finds libpq, cJSON and libcrypto with nginx's
# feature tests (auto/feature) and stops configure with a clear message when
# one is missing.  Run here against stand-ins of auto/feature and
# auto/module, so that a missing library can be pretended: the real
# configure run is the build itself (make).

use strict;
use warnings;
use Test::More;
use File::Temp qw(tempdir);
use FindBin;

my $config = "$FindBin::Bin/../config";
my $dir = tempdir(CLEANUP => 1);
mkdir "$dir/auto" or die "mkdir: $!";

# auto/feature: logs each check; a check is found unless its name contains
# $MISSING, or it is libpq in the compiler's own paths and $PG_ELSEWHERE
open my $fh, '>', "$dir/auto/feature" or die $!;
print $fh <<'SH';
echo "check: $ngx_feature [$ngx_feature_path] [$ngx_feature_libs]" >> "$CHECKS"
ngx_found=yes
case "$ngx_feature" in
    *"$MISSING"*) ngx_found=no ;;
esac
if [ -n "$PG_ELSEWHERE" ] && [ -z "$ngx_feature_path" ]; then
    case "$ngx_feature" in libpq*) ngx_found=no ;; esac
fi
SH
close $fh;

open $fh, '>', "$dir/auto/module" or die $!;
print $fh <<'SH';
echo "incs=$ngx_module_incs"
echo "libs=$ngx_module_libs"
SH
close $fh;

sub run_config {
    my (%env) = @_;
    unlink "$dir/checks";
    local $ENV{CHECKS} = "$dir/checks";
    local $ENV{MISSING} = $env{missing} // 'nothing is missing';
    local $ENV{PG_ELSEWHERE} = $env{pg_elsewhere} // '';
    my $out = `cd $dir && NGX_AUTOCONF_ERR=$dir/autoconf.err ngx_addon_dir=/addon sh -c '. $config' 2>&1`;
    my $rc = $? >> 8;
    my $checks = -e "$dir/checks" ? do { local (@ARGV, $/) = ("$dir/checks"); <> } : '';
    return ($rc, $out, $checks);
}

{
    my ($rc, $out, $checks) = run_config();
    is $rc, 0, 'all found: configure goes on';
    like $checks, qr/^check: libpq .*\[-lpq\]$/m, 'libpq checked with -lpq';
    like $checks, qr/^check: cJSON .*\[-lcjson\]$/m, 'cJSON checked with -lcjson';
    like $checks, qr/^check: OpenSSL's libcrypto .*\[-lcrypto\]$/m, 'libcrypto checked with -lcrypto';
    like $out, qr/^libs=\s*-lpq\s+-lcjson\s+-lcrypto\s*$/m, 'the module links what was found';
    like $out, qr{^incs=.*/addon/src\s*$}m, 'and includes its own sources';
}

{
    my ($rc, $out, $checks) = run_config(pg_elsewhere => 1);
    is $rc, 0, 'libpq only in a directory of its own: found';
    like $checks, qr/^check: libpq \S.* in (\S+) \[\1\]/m, 'checked again with that directory';
    my ($incs) = $out =~ /^incs=(.*)$/m;
    my ($path) = $checks =~ /^check: libpq .* in (\S+) \[/m;
    ok defined $path && index($incs, $path) >= 0, 'that directory is among the include paths';
}

for my $case ([ 'libpq', 'libpq-dev' ], [ 'cJSON', 'libcjson-dev' ], [ 'libcrypto', 'libssl-dev' ]) {
    my ($lib, $pkg) = @$case;
    my ($rc, $out) = run_config(missing => $lib);
    isnt $rc, 0, "$lib missing: configure stops";
    like $out, qr/error: the ngx_dashboards module requires [^\n]*\Q$lib\E/, "$lib missing: the message names it";
    like $out, qr/\Q$pkg\E/, "$lib missing: and the package to install ($pkg)";
    unlike $out, qr/^libs=/m, "$lib missing: no module is added";
}

done_testing;
