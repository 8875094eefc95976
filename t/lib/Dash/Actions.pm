package Dash::Actions;

# What the tests of the dashboard actions (t/100-t/130: tiles, copy/move,
# reorder, tags and templates) set up alike.  Nothing is exported unless
# asked for:
#
#   use Dash::Actions qw(advanced_world permission_fixtures tile_boom boom_on boom_off);
#   my $w = advanced_world($t);
#   my $r = dashboard_action($t, $P, POST => $d, 'reorder_tiles', { tile_order => [...] });
#   my %f = permission_fixtures($t, $w);
#   tile_boom($t);  boom_on($t);  ...;  boom_off($t);
#
# Perl core only.

use strict;
use warnings;

use Exporter qw(import);

our @EXPORT_OK = qw(advanced_world dashboard_action permission_fixtures tile_boom boom_on boom_off);

our $ADVANCED_PERMISSIONS = [ { key => 'advanced_permissions', name => 'Advanced permissions' } ];

# world() in an organization with the advanced_permissions feature (so that
# restriction level 37 is enforced)
sub advanced_world {
    my ($t) = @_;
    return $t->world(org => { available_product_features => $ADVANCED_PERMISSIONS });
}

# $method {base}/$dashboard/$action/ with $body (a ref as JSON), where {base}
# is /api/projects/$project/dashboards; $dashboard undef for an action on the
# collection ({base}/$action/); project => $id among the options for another
# project; the other options go to api()
sub dashboard_action {
    my ($t, $project, $method, $dashboard, $action, $body, %o) = @_;
    my $p = exists $o{project} ? delete $o{project} : $project;
    my $path = "/api/projects/$p/dashboards/" . (defined $dashboard ? "$dashboard/" : '') . "$action/";
    return $t->api($method => $path, body => $body, %o);
}

# The people, keys and projects the permission cases use, created in this
# order (fixture names and ids depend on it); returns them as a hash:
#   member      a member (level 1) of $w's organization, current team $w's project
#   member_key  its key
#   read_key    a key of $w's user with scope dashboard:read
#   write_key   (write_key => 1) a key of $w's user with scope dashboard:write
#   P2          another project of the same organization
#   scoped_key  a key of $w's user scoped to P2
#   org3, P3    an organization $w's user is not in, and its project
#   u3          (unless u3 => 0) an admin of org3
#   ENV2        (unless env2 => 0) a second environment of $w's project
sub permission_fixtures {
    my ($t, $w, %o) = @_;
    my ($P, $U) = ($w->{project}, $w->{user});
    my %f;
    $f{member} = $t->fixture_user(org => $w->{org}, level => 1, team => $P);
    $f{member_key} = $t->fixture_key(user => $f{member});
    $f{read_key} = $t->fixture_key(user => $U, scopes => ['dashboard:read']);
    $f{write_key} = $t->fixture_key(user => $U, scopes => ['dashboard:write']) if $o{write_key};
    $f{P2} = $t->fixture_project(org => $w->{org});
    $f{scoped_key} = $t->fixture_key(user => $U, scoped_teams => [$f{P2}]);
    $f{org3} = $t->fixture_org;
    $f{P3} = $t->fixture_project(org => $f{org3});
    $f{u3} = $t->fixture_user(org => $f{org3}, level => 8) if $o{u3} // 1;
    $f{ENV2} = $t->fixture_team(project => $P) if $o{env2} // 1;
    return %f;
}

# the test trigger function test_boom() that makes a write fail once it
# reaches a tile coloured 'boom': an INSERT of such a tile, or an UPDATE that
# changes its layouts, dashboard or deleted flag; boom_on/boom_off attach it
# to posthog_dashboardtile and drop it
sub tile_boom {
    my ($t) = @_;
    $t->failing_trigger(test_boom => q{NEW.color = 'boom' AND (TG_OP = 'INSERT'
             OR NEW.layouts IS DISTINCT FROM OLD.layouts
             OR NEW.deleted IS DISTINCT FROM OLD.deleted
             OR NEW.dashboard_id IS DISTINCT FROM OLD.dashboard_id)});
}

sub boom_on  { $_[0]->trigger_on(test_boom => 'posthog_dashboardtile', 'INSERT OR UPDATE') }
sub boom_off { $_[0]->trigger_off(test_boom => 'posthog_dashboardtile') }

1;
