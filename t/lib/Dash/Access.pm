package Dash::Access;

# What the access-control tests (t/170 to t/173) set up alike: an
# organization with PostHog's access_control (and role_based_access)
# features, members with keys, rules in ee_accesscontrol, roles, and the
# project routes read from the module's route table.  Nothing is exported
# unless asked for:
#
#   use Dash::Access qw(acl_world member rule role project_routes);
#   my $w = acl_world($t);                       # features access_control, role_based_access
#   my $m = member($t, $w);                      # {user, key, membership} (level 1, key '*')
#   rule($t, $w->{team}, 'dashboard', $d, 'none');               # "everyone" row on D
#   rule($t, $w->{team}, 'dashboard', $d, 'viewer', member => $m);
#   rule($t, $w->{team}, 'dashboard', undef, 'viewer', role => $r);  # on all dashboards
#   my $r = role($t, $w, $m);                    # a role with $m in it
#   for my $rt (project_routes()) { ... $rt->{method}, $rt->{path}->($P, $d) ... }
#
# Perl core only.

use strict;
use warnings;

use Exporter qw(import);
use FindBin;
use JSON::PP ();

our @EXPORT_OK = qw(acl_world member rule role project_routes features set_features $DENIED_PROJECT);

our $DENIED_PROJECT = "You don't have access to the project.";

# [{key => ...}] as PostHog stores available_product_features
sub features { return [ map { { key => $_, name => $_ } } @_ ] }

# the organization's available_product_features become these keys
sub set_features {
    my ($t, $org, @keys) = @_;
    $t->sql('UPDATE posthog_organization SET available_product_features = $1::jsonb WHERE id = $2',
            JSON::PP->new->canonical->encode(features(@keys)), $org);
}

# world() (an admin and its key '*') in an organization with the given
# features (access_control and role_based_access unless told)
sub acl_world {
    my ($t, @features) = @_;
    @features = qw(access_control role_based_access) unless @features;
    return $t->world(org => { available_product_features => features(@features) });
}

# a member of $w's organization (level 1 unless told), current team $w's
# project, with a key of scope '*': {user, key, membership}
sub member {
    my ($t, $w, %o) = @_;
    my $u = $t->fixture_user(org => $w->{org}, level => $o{level} // 1, team => $w->{project});
    my $key = $t->fixture_key(user => $u, scopes => $o{scopes} // ['*']);
    my $m = $t->sql_value('SELECT id FROM posthog_organizationmembership WHERE user_id = $1 AND organization_id = $2',
                          $u, $w->{org});
    return { user => $u, key => $key, membership => $m };
}

# a row of ee_accesscontrol: $id undef for the whole resource; member =>
# a member() (or membership id), role => a role id; neither: "everyone"
sub rule {
    my ($t, $team, $resource, $id, $level, %o) = @_;
    my $m = ref $o{member} ? $o{member}{membership} : $o{member};
    return $t->insert(ee_accesscontrol => {
        team_id => $team, resource => $resource, resource_id => (defined $id ? "$id" : undef),
        access_level => $level, organization_member_id => $m, role_id => $o{role},
    })->{id};
}

# a role of $w's organization with the given members (member() hashes)
sub role {
    my ($t, $w, @members) = @_;
    my $r = $t->insert(ee_role => { name => 'Role ' . Dash::random_string(6), organization_id => $w->{org} })->{id};
    for my $m (@members) {
        $t->insert(ee_rolemembership => { role_id => $r, user_id => $m->{user},
                                          organization_member_id => $m->{membership} });
    }
    return $r;
}

# Every route of the project (the module's route table in
# src/ngx_http_dashboards_handler.c, read here so that a new route is
# covered): {method, path => sub ($project, $dashboard) -> path, name}
sub project_routes {
    my $file = "$FindBin::Bin/../src/ngx_http_dashboards_handler.c";
    open my $fh, '<', $file or die "$file: $!";
    my $src = do { local $/; <$fh> };
    my ($table) = $src =~ /ngx_http_dashboards_routes\[\]\s*=\s*\{(.*?)\n\};/s or die 'no route table';
    my @routes;
    while ($table =~ /\{\s*NGX_HTTP_DASHBOARDS_(\w+),\s*(?:ngx_string\("(\w+)"\)|ngx_null_string),\s*([\w|]+),/g) {
        my ($shape, $action, $methods) = ($1, $2, $3);
        next if $shape eq 'ME' || $shape eq 'KEY_CURRENT';
        my @m = $methods eq 'NGX_HTTP_DASHBOARDS_GET' ? ('GET')
              : map { s/^NGX_HTTP_//r } split /\|/, $methods;
        my $path = $shape eq 'COLLECTION' ? sub { "/api/projects/$_[0]/dashboards/" }
                 : $shape eq 'COLLECTION_ACTION' ? sub { "/api/projects/$_[0]/dashboards/$action/" }
                 : $shape eq 'OBJECT' ? sub { "/api/projects/$_[0]/dashboards/$_[1]/" }
                 : $shape eq 'OBJECT_ACTION' ? sub { "/api/projects/$_[0]/dashboards/$_[1]/$action/" }
                 : $shape eq 'PROJECT' ? sub { "/api/projects/$_[0]/" }
                 : die "unknown route shape $shape";
        push @routes, { method => $_, path => $path, name => "$_ " . lc($shape) . ($action ? " $action" : '') }
            for @m;
    }
    return @routes;
}

1;
