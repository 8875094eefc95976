#!/usr/bin/perl
# The organization's features decide whether PostHog's access rules count
# (Organization.is_feature_available): without access_control every stored
# rule is ignored ("stale rules must be ignored, not enforced"); role rules
# count only with role_based_access.  Personal API keys: scopes first, then
# the rules as the key's owner.  Rules changed with psql count from the next
# request, whatever the worker's key cache holds.

use strict;
use warnings;
use utf8;
use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use Dash;
use Dash::Errors qw(denied answer_is);
use Dash::Access qw(acl_world member rule role set_features $DENIED_PROJECT);

# a key cache far longer than the test: the rules must not be cached with it
my $t = Dash->new(auth_cache_ttl => '3600');

my $NO_VIEW = denied('You do not have viewer access to this resource.');
my $NO_EDIT = denied('You do not have editor access to this resource.');

my $w = acl_world($t);
my ($P, $T) = ($w->{project}, $w->{team});
my $u = member($t, $w);
my $D = $t->fixture_dashboard(team => $T, user => $w->{user}, name => 'D');
my $E = $t->fixture_dashboard(team => $T, user => $w->{user}, name => 'E');
my $I = $t->fixture_insight(team => $T, user => $w->{user}, name => 'Insight');
my $tile = $t->fixture_insight_tile(dashboard => $D, insight => $I);

sub get { $t->api(GET => "/api/projects/$P/dashboards/$_[0]/", key => $_[1] // $u->{key}) }
sub list { $t->api(GET => "/api/projects/$P/dashboards/", key => $_[0] // $u->{key}) }
sub names { [ sort map { $_->{name} } @{ $_[0]{json}{results} // [] } ] }

rule($t, $T, 'dashboard', $D, 'none');
rule($t, $T, 'dashboard', $E, 'viewer');
rule($t, $T, 'insight', $I, 'none');

subtest 'with access_control the rules apply' => sub {
    answer_is get($D), 403, $NO_VIEW, 'GET D';
    is get($E)->{json}{user_access_level}, 'viewer', 'E: viewer';
    is_deeply names(list()), ['E'], 'list';
};

for my $features ([], ['advanced_permissions'], ['role_based_access'], ['project_based_permissioning']) {
    my $name = @$features ? "only @$features" : 'no features';
    subtest "$name: every stored rule is ignored" => sub {
        set_features($t, $w->{org}, @$features);
        my $r = get($D);
        is $r->{status}, 200, 'GET D';
        is $r->{json}{user_access_level}, 'editor', 'D: editor (the default)';
        is $r->{json}{tiles}[0]{insight}{name}, 'Insight', 'the insight is whole';
        is get($E)->{json}{user_access_level}, 'editor', 'E: editor';
        is_deeply names(list()), [qw(D E)], 'list: nothing filtered';
        is $t->api(PATCH => "/api/projects/$P/dashboards/$E/", key => $u->{key}, body => { pinned => JSON::PP::true })
            ->{status}, 200, 'PATCH E';
        is get($D, $w->{key})->{json}{user_access_level}, 'manager', 'the admin: manager';
    };
}

set_features($t, $w->{org}, qw(access_control role_based_access));

subtest 'role rules count only with role_based_access' => sub {
    my $role = role($t, $w, $u);
    rule($t, $T, 'dashboard', $D, 'editor', role => $role);
    is get($D)->{json}{user_access_level}, 'editor', 'role grant: editor';
    is_deeply names(list()), [qw(D E)], 'role grant: D listed';
    set_features($t, $w->{org}, 'access_control');
    answer_is get($D), 403, $NO_VIEW, 'without role_based_access the role row is inert';
    is_deeply names(list()), ['E'], 'and D is filtered again';
    set_features($t, $w->{org}, qw(access_control role_based_access));
    $t->sql('DELETE FROM ee_accesscontrol WHERE role_id = $1', $role);
};

subtest 'personal API keys: scopes first, then the rules as the owner' => sub {
    my $read = $t->fixture_key(user => $u->{user}, scopes => ['dashboard:read']);
    answer_is get($D, $read), 403, $NO_VIEW, 'read key, D none: the rules';
    is get($E, $read)->{status}, 200, 'read key, E viewer: reading needs viewer only';
    answer_is $t->api(PATCH => "/api/projects/$P/dashboards/$E/", key => $read, body => { name => 'x' }), 403,
        denied("API key missing required scope 'dashboard:write'"), 'read key, write: the scope answers first';
    my $write = $t->fixture_key(user => $u->{user}, scopes => ['dashboard:write']);
    is get($E, $write)->{status}, 200, 'write key, GET: still viewer required';
    answer_is $t->api(PATCH => "/api/projects/$P/dashboards/$E/", key => $write, body => { name => 'x' }), 403,
        $NO_EDIT, 'write key, E viewer: the rules refuse the write';
    my $admin_read = $t->fixture_key(user => $w->{user}, scopes => ['dashboard:read']);
    is get($D, $admin_read)->{status}, 200, "an admin's key passes every rule";
};

subtest 'rules changed with psql count from the next request (the key stays cached)' => sub {
    is get($E)->{status}, 200, 'E readable (the key is now cached)';
    my $id = rule($t, $T, 'dashboard', $E, 'none', member => $u);
    answer_is get($E), 403, $NO_VIEW, 'member row none added: 403 at once';
    $t->sql('DELETE FROM ee_accesscontrol WHERE id = $1', $id);
    is get($E)->{status}, 200, 'removed: 200 at once';
    my $p = rule($t, $T, 'project', $T, 'none');
    answer_is get($E), 403, denied($DENIED_PROJECT), 'project rule added: 403 at once';
    $t->sql('DELETE FROM ee_accesscontrol WHERE id = $1', $p);
    is get($E)->{status}, 200, 'removed: 200 at once';
    set_features($t, $w->{org});
    is get($D)->{status}, 200, 'feature removed: rules ignored at once';
    set_features($t, $w->{org}, qw(access_control role_based_access));
    answer_is get($D), 403, $NO_VIEW, 'feature back: rules apply at once';
};

done_testing;
