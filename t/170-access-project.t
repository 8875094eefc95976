#!/usr/bin/perl
# Project access as PostHog enforces it (AccessControlPermission on the team,
# UserTeamPermissions): rules on the project in ee_accesscontrol, roles,
# organization admins, the older private projects, the identity endpoints'
# project lists, and rules changed with psql between two requests.
#
#   no rules                    every member passes (a project admin)
#   "everyone" row none         403 "You don't have access to the project." on every route
#   member / role row           member or admin: as if no project rule
#   org admin / owner           never blocked (also through a key)

use strict;
use warnings;
use utf8;
use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use Dash;
use Dash::Errors qw(denied answer_is);
use Dash::Access qw(acl_world member rule role project_routes set_features $DENIED_PROJECT);

my $t = Dash->new;
my $w = acl_world($t);
my $P = $w->{project};
my $m = member($t, $w);
my $D = $t->fixture_dashboard(team => $P, user => $w->{user}, name => 'D');
$t->fixture_text_tile(dashboard => $D, body => 'hello');
my $P2 = $t->fixture_project(org => $w->{org});

sub list { $t->api(GET => "/api/projects/$_[0]/dashboards/", key => $_[1]) }
sub team_ids {
    my ($key) = @_;
    my $r = $t->api(GET => '/api/users/@me/', key => $key);
    return [ map { $_->{id} } @{ $r->{json}{organization}{teams} // [] } ];
}
sub project_ids {
    my ($key) = @_;
    my $r = $t->api(GET => '/api/users/@me/', key => $key);
    return [ map { $_->{id} } @{ $r->{json}{organization}{projects} // [] } ];
}

subtest 'no project rules: every member passes, as a project admin' => sub {
    is list($P, $m->{key})->{status}, 200, 'list';
    my $r = $t->api(GET => "/api/projects/$P/", key => $m->{key});
    is $r->{status}, 200, 'project';
    is $r->{json}{effective_membership_level}, 8, 'no project rules: every member is a project admin';
    is_deeply team_ids($m->{key}), [ $P, $P2 ], '@me: both projects';
};

my $private = rule($t, $P, 'project', $P, 'none');

subtest 'project "everyone" none: 403 on every route of the project' => sub {
    my @routes = project_routes();
    cmp_ok scalar(@routes), '>=', 17, 'the route table was read';
    my $before = $t->db_state(posthog_dashboard => 'rows', posthog_dashboardtile => 'rows',
                              posthog_text => 'rows', posthog_taggeditem => 'rows');
    for my $rt (@routes) {
        my $body = $rt->{method} eq 'GET' || $rt->{method} eq 'DELETE' ? undef : { name => 'x' };
        my $r = $t->api($rt->{method} => $rt->{path}->($P, $D), key => $m->{key}, body => $body);
        answer_is $r, 403, denied($DENIED_PROJECT), $rt->{name};
    }
    # also a dashboard that does not exist: the project is checked first
    answer_is $t->api(GET => "/api/projects/$P/dashboards/999999/", key => $m->{key}), 403,
        denied($DENIED_PROJECT), 'missing dashboard';
    answer_is $t->api(GET => "/api/environments/$P/dashboards/", key => $m->{key}), 403,
        denied($DENIED_PROJECT), 'environments alias';
    is $t->db_state(posthog_dashboard => 'rows', posthog_dashboardtile => 'rows',
                    posthog_text => 'rows', posthog_taggeditem => 'rows'), $before, 'nothing written';

    is list($P2, $m->{key})->{status}, 200, 'another project of the organization is not affected';
    is_deeply team_ids($m->{key}), [ $P2 ], '@me: organization.teams leaves the project out';
    is_deeply project_ids($m->{key}), [ $P2 ], '@me: organization.projects leaves it out';
};

subtest 'organization admins and owners are never blocked, also through a key' => sub {
    my $r = list($P, $w->{key});
    is $r->{status}, 200, 'admin key: list';
    is $r->{json}{count}, 1, 'admin key: the dashboard';
    is $t->api(GET => "/api/projects/$P/dashboards/$D/", key => $w->{key})->{status}, 200, 'admin key: retrieve';
    is $t->api(PATCH => "/api/projects/$P/dashboards/$D/", key => $w->{key}, body => { name => 'D2' })->{status},
        200, 'admin key: update';
    is_deeply team_ids($w->{key}), [ $P, $P2 ], 'admin @me: both projects';
    my $owner = member($t, $w, level => 15);
    is list($P, $owner->{key})->{status}, 200, 'owner';
    # scopes still apply to an admin's key
    my $read = $t->fixture_key(user => $w->{user}, scopes => ['dashboard:read']);
    answer_is $t->api(PATCH => "/api/projects/$P/dashboards/$D/", key => $read, body => { name => 'x' }), 403,
        denied("API key missing required scope 'dashboard:write'"), 'admin key without the scope';
};

subtest 'a member row on the project lets the member in (as member)' => sub {
    my $id = rule($t, $P, 'project', $P, 'member', member => $m);
    is list($P, $m->{key})->{status}, 200, 'list';
    my $r = $t->api(GET => "/api/projects/$P/", key => $m->{key});
    is $r->{status}, 200, 'project';
    is $r->{json}{effective_membership_level}, 1, 'a project member, not an admin';
    is_deeply team_ids($m->{key}), [ $P, $P2 ], '@me: the project is back';
    # an explicit none denies even with a default that would allow
    $t->sql('UPDATE ee_accesscontrol SET access_level = $1 WHERE id = $2', 'none', $id);
    $t->sql('UPDATE ee_accesscontrol SET access_level = $1 WHERE id = $2', 'member', $private);
    answer_is list($P, $m->{key}), 403, denied($DENIED_PROJECT), 'member none beats everyone member';
    $t->sql('UPDATE ee_accesscontrol SET access_level = $1 WHERE id = $2', 'none', $private);
    $t->sql('DELETE FROM ee_accesscontrol WHERE id = $1', $id);
};

subtest 'a role grants the access the member rule does not' => sub {
    my $other = member($t, $w);
    my $role = role($t, $w, $other);
    rule($t, $P, 'project', $P, 'none', member => $other);
    answer_is list($P, $other->{key}), 403, denied($DENIED_PROJECT), 'member row none';
    my $rr = rule($t, $P, 'project', $P, 'admin', role => $role);
    is list($P, $other->{key})->{status}, 200, 'member none + role admin: the highest wins';
    is $t->api(GET => "/api/projects/$P/", key => $other->{key})->{json}{effective_membership_level}, 8,
        'project admin through the role';
    answer_is list($P, $m->{key}), 403, denied($DENIED_PROJECT), 'not for members outside the role';

    # roles count only with role_based_access
    set_features($t, $w->{org}, 'access_control');
    answer_is list($P, $other->{key}), 403, denied($DENIED_PROJECT), 'without role_based_access the role is inert';
    set_features($t, $w->{org}, qw(access_control role_based_access));
    is list($P, $other->{key})->{status}, 200, 'with it again';
    $t->sql('DELETE FROM ee_accesscontrol WHERE id = $1', $rr);
};

subtest 'without access_control the stored rules are ignored' => sub {
    set_features($t, $w->{org}, qw(role_based_access advanced_permissions));
    is list($P, $m->{key})->{status}, 200, 'list';
    is $t->api(GET => "/api/projects/$P/", key => $m->{key})->{json}{effective_membership_level}, 1,
        'the organization level';
    is_deeply team_ids($m->{key}), [ $P, $P2 ], '@me: both projects';
    set_features($t, $w->{org}, qw(access_control role_based_access));
    answer_is list($P, $m->{key}), 403, denied($DENIED_PROJECT), 'the feature back: denied again';
};

subtest 'a rule added or removed with psql counts from the next request' => sub {
    # the worker caches the key (dashboards_auth_cache_ttl, 10 s by default),
    # never the rules
    is list($P2, $m->{key})->{status}, 200, 'P2 open';
    my $id = rule($t, $P2, 'project', $P2, 'none');
    answer_is list($P2, $m->{key}), 403, denied($DENIED_PROJECT), 'rule added: denied at once';
    $t->sql('DELETE FROM ee_accesscontrol WHERE id = $1', $id);
    is list($P2, $m->{key})->{status}, 200, 'rule removed: allowed at once';
};

subtest 'older private projects (team.access_control, explicit memberships)' => sub {
    my $lw = acl_world($t, 'project_based_permissioning');
    my $lm = member($t, $lw);
    my $other = member($t, $lw);
    my $LP = $lw->{project};
    $t->sql('UPDATE posthog_team SET access_control = true WHERE id = $1', $LP);
    answer_is list($LP, $lm->{key}), 403, denied($DENIED_PROJECT), 'private, no explicit membership';
    $t->insert(ee_explicitteammembership => { team_id => $LP, parent_membership_id => $lm->{membership},
                                              level => 1 });
    is list($LP, $lm->{key})->{status}, 200, 'explicit member';
    is $t->api(GET => "/api/projects/$LP/", key => $lm->{key})->{json}{effective_membership_level}, 1,
        'explicit member level';
    answer_is list($LP, $other->{key}), 403, denied($DENIED_PROJECT), 'others still denied';
    is list($LP, $lw->{key})->{status}, 200, 'organization admin';
    is_deeply team_ids($other->{key}), [], '@me: the private project is left out';

    # the same project, the organization without project_based_permissioning
    set_features($t, $lw->{org});
    is list($LP, $other->{key})->{status}, 200, 'without the feature the flag is ignored';

    # with access_control, a private project counts as an "everyone" none
    # row and an explicit membership as a member row (PostHog's conversion)
    set_features($t, $lw->{org}, qw(project_based_permissioning access_control));
    answer_is list($LP, $other->{key}), 403, denied($DENIED_PROJECT), 'access_control: others denied';
    is list($LP, $lm->{key})->{status}, 200, 'access_control: the explicit member passes';
};

subtest 'a user outside the organization' => sub {
    my $org3 = $t->fixture_org;
    my $u3 = $t->fixture_user(org => $org3, level => 8);
    my $k3 = $t->fixture_key(user => $u3);
    answer_is list($P2, $k3), 403, denied($DENIED_PROJECT), 'list';
};

done_testing;
