#!/usr/bin/perl
# Dashboards under PostHog's access rules (ee_accesscontrol, legacy
# resolution as PostHog enforces it by default): the worked examples of
# PostHog's UserAccessControl on dashboards, the list filter
# (filter_queryset_by_access_level, with its disagreements with retrieve),
# user_access_level, creation, the v1 restriction level beside the rules,
# and the most-specific resolution.
#
# Each example: an organization with access_control and role_based_access;
# U a member (level 1); D1 and D2 created by the admin, Own by U.

use strict;
use warnings;
use utf8;
use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use Dash;
use Dash::Errors qw(denied answer_is);
use Dash::Access qw(acl_world member rule role);

my $t = Dash->new;

my $NO_VIEW = denied('You do not have viewer access to this resource.');
my $NO_EDIT = denied('You do not have editor access to this resource.');

# a fresh organization for one example
sub setup {
    my $w = acl_world($t);
    my $u = member($t, $w);
    my %e = (w => $w, u => $u, T => $w->{team}, P => $w->{project});
    $e{D1} = $t->fixture_dashboard(team => $w->{team}, user => $w->{user}, name => 'D1');
    $e{D2} = $t->fixture_dashboard(team => $w->{team}, user => $w->{user}, name => 'D2');
    $e{Own} = $t->fixture_dashboard(team => $w->{team}, user => $u->{user}, name => 'Own');
    return \%e;
}

sub list { my ($e, $key) = @_; $t->api(GET => "/api/projects/$e->{P}/dashboards/", key => $key // $e->{u}{key}) }
sub names { [ map { $_->{name} } @{ $_[0]{json}{results} // [] } ] }
sub get { my ($e, $d, $key) = @_; $t->api(GET => "/api/projects/$e->{P}/dashboards/$d/", key => $key // $e->{u}{key}) }
sub patch {
    my ($e, $d, $key) = @_;
    $t->api(PATCH => "/api/projects/$e->{P}/dashboards/$d/", key => $key // $e->{u}{key},
            body => { description => 'changed' });
}
sub description { $t->sql_value('SELECT description FROM posthog_dashboard WHERE id = $1', $_[0]) }

# list names (or a 403 body), GET D1, PATCH D1 (status or 403 body), and
# user_access_level of D1 in the detail and in the list
sub example {
    my ($name, $e, %want) = @_;
    subtest $name => sub {
        my $r = list($e);
        if (ref $want{list} eq 'HASH') {
            answer_is $r, 403, $want{list}, 'list';
        } else {
            is $r->{status}, 200, 'list: 200';
            is_deeply names($r), $want{list}, 'list: ' . join(', ', @{ $want{list} });
            if (defined $want{level} && grep { $_ eq 'D1' } @{ $want{list} }) {
                my ($d1) = grep { $_->{name} eq 'D1' } @{ $r->{json}{results} };
                is $d1->{user_access_level}, $want{level}, "list: user_access_level $want{level}";
            }
        }
        $r = get($e, $e->{D1});
        if (ref $want{get}) {
            answer_is $r, 403, $want{get}, 'GET D1';
        } else {
            is $r->{status}, 200, 'GET D1: 200';
            is $r->{json}{user_access_level}, $want{level}, "GET D1: user_access_level $want{level}";
            is $r->{json}{access_control_version}, 'v2', 'access_control_version v2';
        }
        $r = patch($e, $e->{D1});
        if (ref $want{patch}) {
            answer_is $r, 403, $want{patch}, 'PATCH D1';
            isnt description($e->{D1}) // '', 'changed', 'PATCH D1: nothing written';
        } else {
            is $r->{status}, 200, 'PATCH D1: 200';
            is description($e->{D1}), 'changed', 'PATCH D1: written';
            is $r->{json}{user_access_level}, $want{level}, 'PATCH D1 answer: user_access_level';
        }
        $want{more}->($e) if $want{more};
    };
}

my $e;

example '1: no rules', setup(), list => [qw(D1 D2 Own)], get => 200, patch => 200, level => 'editor';

$e = setup();
rule($t, $e->{T}, 'dashboard', undef, 'viewer');
example '2: resource default viewer', $e, list => [qw(D1 D2 Own)], get => 200, patch => $NO_EDIT, level => 'viewer',
    more => sub {
        my ($e) = @_;
        answer_is $t->api(POST => "/api/projects/$e->{P}/dashboards/", key => $e->{u}{key}, body => { name => 'N' }),
            403, $NO_EDIT, 'create needs editor on all dashboards';
        is get($e, $e->{Own})->{json}{user_access_level}, 'manager', 'own dashboard: manager';
        is patch($e, $e->{Own})->{status}, 403, 'own dashboard: the gate on all dashboards comes first';
        answer_is $t->api(DELETE => "/api/projects/$e->{P}/dashboards/$e->{D1}/", key => $e->{u}{key}), 403,
            $NO_EDIT, 'DELETE: the gate answers before the 405';
        is $t->api(DELETE => "/api/projects/$e->{P}/dashboards/$e->{D1}/", key => $e->{w}{key})->{status}, 405,
            'DELETE by the admin: 405';
    };

$e = setup();
rule($t, $e->{T}, 'dashboard', undef, 'none');
example '3: resource default none', $e, list => $NO_VIEW, get => $NO_VIEW, patch => $NO_EDIT,
    more => sub {
        my ($e) = @_;
        answer_is get($e, $e->{Own}), 403, $NO_VIEW, 'even the creator (the gate runs before the object)';
        answer_is get($e, 999999), 403, $NO_VIEW, 'a missing dashboard: 403 before 404';
    };

$e = setup();
rule($t, $e->{T}, 'dashboard', undef, 'none');
rule($t, $e->{T}, 'dashboard', $e->{D1}, 'viewer', member => $e->{u});
example '4: resource none + member viewer on D1', $e, list => [qw(D1 Own)], get => 200, patch => $NO_EDIT,
    level => 'viewer',
    more => sub {
        my ($e) = @_;
        answer_is get($e, $e->{D2}), 403, $NO_VIEW, 'GET D2';
        is get($e, $e->{Own})->{status}, 200, 'GET Own (creator)';
        answer_is get($e, 999999), 404, $Dash::Errors::NOT_FOUND, 'a missing dashboard: 404 once the gate passes';
        my $r = $t->api(GET => "/api/projects/$e->{P}/dashboards/?limit=1", key => $e->{u}{key});
        is $r->{json}{count}, 2, 'the count is of the filtered list';
    };

$e = setup();
rule($t, $e->{T}, 'dashboard', $e->{D1}, 'none');
example '5: object default none on D1', $e, list => [qw(D2 Own)], get => $NO_VIEW, patch => $NO_EDIT,
    more => sub {
        my ($e) = @_;
        my $r = list($e, $e->{w}{key});
        is_deeply names($r), [qw(D1 D2 Own)], 'the admin sees it';
        is $r->{json}{results}[0]{user_access_level}, 'manager', 'admin: manager';
    };

$e = setup();
rule($t, $e->{T}, 'dashboard', $e->{D1}, 'none');
rule($t, $e->{T}, 'dashboard', $e->{D1}, 'editor', member => $e->{u});
example '6: object default none + member editor on D1', $e, list => [qw(D1 D2 Own)], get => 200, patch => 200,
    level => 'editor';

$e = setup();
{
    my $role = role($t, $e->{w}, $e->{u});
    rule($t, $e->{T}, 'dashboard', $e->{D1}, 'none', member => $e->{u});
    rule($t, $e->{T}, 'dashboard', $e->{D1}, 'viewer', role => $role);
}
example '7: object member none + role viewer on D1', $e, list => [qw(D1 D2 Own)], get => 200, patch => $NO_EDIT,
    level => 'viewer',
    more => sub {
        my ($e) = @_;
        # the most-specific resolution: the member row decides
        $t->sql('UPDATE posthog_organization SET uses_most_specific_access_resolution = true WHERE id = $1',
                $e->{w}{org});
        answer_is get($e, $e->{D1}), 403, $NO_VIEW, 'most specific: member none wins';
        $t->sql('UPDATE posthog_organization SET uses_most_specific_access_resolution = false WHERE id = $1',
                $e->{w}{org});
        # without role_based_access the role row is inert
        Dash::Access::set_features($t, $e->{w}{org}, 'access_control');
        answer_is get($e, $e->{D1}), 403, $NO_VIEW, 'without role_based_access: member none';
    };

$e = setup();
rule($t, $e->{T}, 'dashboard', $e->{D1}, 'none');
rule($t, $e->{T}, 'dashboard', undef, 'editor');
example '8: object default none on D1 + resource default editor', $e, list => [qw(D2 Own)], get => 200,
    patch => 200, level => 'editor';

$e = setup();
{
    my $admin = member($t, $e->{w}, level => 8);
    rule($t, $e->{T}, 'dashboard', undef, 'none');
    rule($t, $e->{T}, 'dashboard', $e->{D1}, 'none', member => $admin);
    $e->{u} = $admin;
}
example '11: U is an organization admin', $e, list => [qw(D1 D2 Own)], get => 200, patch => 200, level => 'manager';

$e = setup();
{
    my $d = $t->fixture_dashboard(team => $e->{T}, user => $e->{u}{user}, name => 'D1');
    $t->sql('UPDATE posthog_dashboard SET name = $1 WHERE id = $2', 'D1 (admin)', $e->{D1});
    rule($t, $e->{T}, 'dashboard', $d, 'none');
    $e->{D1} = $d;
}
example '12: object default none on D1, U created D1', $e, list => ['D1', 'D1 (admin)', 'D2', 'Own'], get => 200,
    patch => 200, level => 'manager';

subtest 'a resource-wide viewer with an editor grant on one dashboard' => sub {
    my $e = setup();
    rule($t, $e->{T}, 'dashboard', undef, 'viewer');
    rule($t, $e->{T}, 'dashboard', $e->{D1}, 'editor', member => $e->{u});
    is patch($e, $e->{D1})->{status}, 200, 'PATCH D1: the grant passes the gate and the object check';
    answer_is patch($e, $e->{D2}), 403, $NO_EDIT, 'PATCH D2: the gate passes, the object check does not';
    answer_is $t->api(POST => "/api/projects/$e->{P}/dashboards/", key => $e->{u}{key}, body => { name => 'N' }),
        403, $NO_EDIT, 'create: object grants do not help';
};

subtest 'the rules and the v1 restriction level' => sub {
    my $e = setup();
    $t->sql('UPDATE posthog_dashboard SET restriction_level = 37 WHERE id = $1', $e->{D1});
    my $r = get($e, $e->{D1});
    is $r->{json}{access_control_version}, 'v1', 'restriction 37: access_control_version v1';
    is $r->{json}{user_access_level}, 'editor', 'user_access_level from the rules';
    is $r->{json}{effective_privilege_level}, 37, 'no project rules: every member is a project admin';
    is patch($e, $e->{D1})->{status}, 200, 'so the restriction does not stop the member';

    # a project member (not admin) is held by the v1 restriction
    rule($t, $e->{T}, 'project', $e->{T}, 'member');
    $r = get($e, $e->{D1});
    is $r->{status}, 200, 'reading is never restricted by v1';
    is $r->{json}{effective_privilege_level}, 21, 'project member: privilege 21';
    answer_is patch($e, $e->{D1}), 403, denied("You don't have edit permissions for this dashboard."),
        'v1 refuses the write';
    # both apply: the rules' editor check comes first
    rule($t, $e->{T}, 'dashboard', $e->{D1}, 'viewer', member => $e->{u});
    answer_is patch($e, $e->{D1}), 403, $NO_EDIT, 'v2 viewer: the rules answer first';
};

subtest 'bulk_update_tags and copy_tile apply the rules to each dashboard' => sub {
    my $e = setup();
    rule($t, $e->{T}, 'dashboard', $e->{D1}, 'viewer');
    rule($t, $e->{T}, 'dashboard', $e->{D2}, 'none');
    my $r = $t->api(POST => "/api/projects/$e->{P}/dashboards/bulk_update_tags/", key => $e->{u}{key},
                    body => { ids => [ $e->{D1}, $e->{D2}, $e->{Own} ], action => 'add', tags => ['x'] });
    is $r->{status}, 200, 'bulk_update_tags: 200';
    is_deeply [ map { $_->{id} } @{ $r->{json}{updated} } ], [ $e->{Own} ], 'only the editable dashboard';
    is_deeply $r->{json}{skipped}, [ { id => $e->{D1}, reason => 'Permission denied' },
                                     { id => $e->{D2}, reason => 'Permission denied' } ], 'the others skipped';
    is $t->sql_value('SELECT count(*) FROM posthog_taggeditem WHERE dashboard_id IN ($1, $2)', $e->{D1}, $e->{D2}),
        0, 'no tag on them';

    my (undef, $text) = $t->fixture_text_tile(dashboard => $e->{D2}, body => 'secret');
    my $tile = $t->sql_value('SELECT id FROM posthog_dashboardtile WHERE text_id = $1', $text);
    $r = $t->api(POST => "/api/projects/$e->{P}/dashboards/$e->{Own}/copy_tile/", key => $e->{u}{key},
                 body => { fromDashboardId => $e->{D2}, tileId => $tile });
    answer_is $r, 403, $NO_VIEW, 'copy_tile from a dashboard the user may not view';
    is $t->sql_value('SELECT count(*) FROM posthog_dashboardtile WHERE dashboard_id = $1', $e->{Own}), 0,
        'nothing copied';
    $r = $t->api(POST => "/api/projects/$e->{P}/dashboards/$e->{D1}/copy_tile/", key => $e->{u}{key},
                 body => { fromDashboardId => $e->{Own}, tileId => $tile });
    answer_is $r, 403, $NO_EDIT, 'copy_tile into a dashboard the user may only view';
    $r = $t->api(POST => "/api/projects/$e->{P}/dashboards/", key => $e->{u}{key},
                 body => { name => 'Copy', use_dashboard => $e->{D2} });
    answer_is $r, 403, $NO_VIEW, 'use_dashboard: the source must be viewable';
    is $t->sql_value(q{SELECT count(*) FROM posthog_dashboard WHERE name = 'Copy'}), 0, 'nothing created';
};

done_testing;
