#!/usr/bin/perl
# A write on a dashboard id of another organization's project never waits for
# a lock on that row: the statements that lock a dashboard select it in the
# request's project first.  Before, the row was locked by id alone, so a user
# of organization B writing to a dashboard id of organization A (through B's
# own project) waited for whoever held A's row, then got the 404: a timing
# oracle on another organization's activity, and a pool connection held.
#
# Each request below is sent while a psql session holds the row lock of A's
# dashboard; the lock is released only after the answer came (query_timeout
# 4s: a request that waited would answer the timeout, not the 404).

use strict;
use warnings;
use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use Dash;
use Dash::Errors qw(answer_is $NOT_FOUND);
use Dash::Lock qw(lock_waiters);
use Dash::Raw qw(request);

my $t = Dash->new(query_timeout => '4s');

# organization A: the world, with a dashboard holding a text tile
my $w = $t->world;
my $da = $t->fixture_dashboard(team => $w->{team}, user => $w->{user}, name => 'A');
my $da2 = $t->fixture_dashboard(team => $w->{team}, user => $w->{user}, name => 'A2');
my ($tile) = $t->fixture_text_tile(dashboard => $da, body => 'secret',
                                   layouts => { sm => { x => 0, y => 0, w => 6, h => 5 } });
my ($tile2) = $t->fixture_text_tile(dashboard => $da2, body => 'other');

# organization B: an admin, a project and a dashboard of its own
my $org_b = $t->fixture_org(name => 'B');
my $user_b = $t->fixture_user(org => $org_b, level => 8);
my $project_b = $t->fixture_project(org => $org_b, name => 'B project');
my $key_b = $t->fixture_key(user => $user_b);
my $db = $t->fixture_dashboard(team => $project_b, user => $user_b, name => 'B');
my ($tile_b) = $t->fixture_text_tile(dashboard => $db, body => 'mine');

my $base = "/api/projects/$project_b/dashboards";
is $t->api(GET => "$base/", key => $key_b)->{status}, 200, 'B lists its project';

my $before = $t->db_state(posthog_dashboard => 'rows', posthog_dashboardtile => 'rows',
                          posthog_text => 'rows', posthog_taggeditem => 'rows');

my @cases = (
    [ 'PATCH',                     PATCH => "$base/$da/", { name => 'x' } ],
    [ 'PUT',                       PUT => "$base/$da/", { name => 'x' } ],
    [ 'PATCH restoring',           PATCH => "$base/$da/", { deleted => JSON::PP::false() } ],
    [ 'create_text_tile',          POST => "$base/$da/create_text_tile/", { body => 'x' } ],
    [ 'update_text_tile',          POST => "$base/$da/update_text_tile/", { tile_id => $tile, body => 'x' } ],
    [ 'delete_tile',               POST => "$base/$da/delete_tile/", { tile_id => $tile } ],
    [ 'reorder_tiles',             POST => "$base/$da/reorder_tiles/", { tile_order => [$tile] } ],
    [ 'copy_tile to A',            POST => "$base/$da/copy_tile/", { fromDashboardId => $db, tileId => $tile_b } ],
    [ 'move_tile from A',          POST => "$base/$da/move_tile/", { to_dashboard => $db, tile => { id => $tile } } ],
);

for my $c (@cases) {
    my ($name, $method, $path, $body) = @$c;
    my $lock = Dash::Lock->new($t, $da);
    my $r = request($t, $method, $path, body => $body, key => $key_b);
    answer_is $r, 404, $NOT_FOUND, "$name of A's dashboard through B's project, A's row locked";
    is scalar(lock_waiters($t)), 0, "$name: no backend of the module waits for the lock";
    $lock->release('ROLLBACK');
}

# the lock on the other side of a move or a copy: B's own dashboard is the
# URL one, A's is named in the body
{
    my $lock = Dash::Lock->new($t, $da);
    my $r = request($t, POST => "$base/$db/move_tile/", body => { to_dashboard => $da, tile => { id => $tile_b } },
                    key => $key_b);
    answer_is $r, 404, $NOT_FOUND, "move_tile from B's dashboard to A's, A's row locked";
    $r = request($t, POST => "$base/$db/copy_tile/", body => { fromDashboardId => $da, tileId => $tile },
                 key => $key_b);
    answer_is $r, 404, $NOT_FOUND, "copy_tile from A's dashboard to B's, A's row locked";
    $r = request($t, POST => "$base/bulk_update_tags/", body => { ids => [$da], action => 'add', tags => ['x'] },
                 key => $key_b);
    is $r->{status}, 200, "bulk_update_tags naming A's dashboard, A's row locked: 200";
    is_deeply $r->{json}, { updated => [], skipped => [ { id => $da, reason => 'Not found' } ] },
        'and A\'s dashboard skipped as not found';
    is scalar(lock_waiters($t)), 0, 'no backend of the module waits for the lock';
    $lock->release('ROLLBACK');
}

is $t->db_state(posthog_dashboard => 'rows', posthog_dashboardtile => 'rows',
                posthog_text => 'rows', posthog_taggeditem => 'rows'),
    $before, 'nothing of A changed, nothing of B either';

# the same project still serializes writes on the row (t/080): A's own PATCH waits
{
    my $lock = Dash::Lock->new($t, $da);
    my $s = Dash::Raw::send_request($t, PATCH => "/api/projects/$w->{project}/dashboards/$da/", { name => 'A 2' });
    ok $t->wait_until(sub { lock_waiters($t) >= 1 }, timeout => 10), "A's own PATCH waits for the lock";
    $lock->release;
    my $r = Dash::Raw::read_response($s);
    is $r->{status}, 200, 'and answers 200 once it is released';
    is $r->{json}{name}, 'A 2', 'with the new name';
}

done_testing;
