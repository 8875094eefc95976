#!/usr/bin/perl
# POST {base}/:id/reorder_tiles/ (PostHog's reorder_tiles; doc/CONTRACT.md "Tile
# actions, tags and templates").
#
# Table-driven: every expected layout below was computed by hand from the
# layouts of PostHog's reorder_tiles (grid 12 columns, default tile 6 x 5)
# and is written out
# literally; nothing here re-implements them.  Then the plain-body errors
# ({"detail": ...}), validation, permissions, and a failure midway.

use strict;
use warnings;
use utf8;
use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use Dash;
use Dash::Actions qw(advanced_world dashboard_action permission_fixtures);
use Dash::Errors qw(verr denied answer_is $SERVER_ERROR $NOT_FOUND);

my $t = Dash->new;
my $w = advanced_world($t);
my $P = $w->{project};
my $U = $w->{user};

# ---------------------------------------------------------------------------
# helpers

# POST {base}/:dashboard/reorder_tiles/ ; project => other project id
sub reorder { my ($d, @rest) = @_; dashboard_action($t, $P, POST => $d, 'reorder_tiles', @rest) }

sub snapshot { $t->snapshot(qw(posthog_dashboard posthog_dashboardtile posthog_text posthog_dashboarditem)) }

sub tile_row { $t->row(posthog_dashboardtile => $_[0]) }

sub R { my ($x, $y, $w, $h, %more) = @_; return { x => $x, y => $y, w => $w, h => $h, %more } }

# ---------------------------------------------------------------------------
# the table.  tiles: name => initial layouts; order: tile_order by name;
# layout: the body's "layout" (absent = the default, preserve); expect:
# name => layouts after; sorted: the answer's tile order (sm y, then x).

my @CASES = (
    {   name   => 'preserve (default): skyline packing of mixed widths',
        # heights[12] = 0, xs_y = 0; for each tile the leftmost x with the
        # strictly lowest max(heights[x .. x+w-1]):
        #   A 12x2 -> (0,0)  heights 2 x12                    xs y 0
        #   B  4x5 -> (0,2)  heights 7 7 7 7 2 2 2 2 2 2 2 2   xs y 2
        #   C  8x3 -> x0..3 give 7, x4 gives 2 -> (4,2)
        #                   heights 7 7 7 7 5 5 5 5 5 5 5 5   xs y 7
        #   D  6x4 -> x0..3 give 7, x4 gives 5 (x5, x6 tie) -> (4,5)
        #                   heights 7 7 7 7 9 9 9 9 9 9 5 5   xs y 10
        #   E  4x2 -> x0 gives 7, every other x 9 -> (0,7)
        #                   heights 9 9 9 9 9 9 9 9 9 9 5 5   xs y 14
        #   F  2x1 -> x10 gives 5 -> (10,5)                   xs y 16
        tiles  => { A => { sm => R(3, 9, 12, 2, minW => 2), xs => R(0, 0, 1, 2), lg => R(0, 0, 1, 1) },
                    B => { sm => R(0, 0, 4, 5) },
                    C => { sm => R(8, 1, 8, 3) },
                    D => { sm => R(0, 0, 6, 4), xs => R(0, 4, 1, 9) },
                    E => { sm => R(11, 20, 4, 2) },
                    F => { sm => { w => 2, h => 1 } } },
        order  => [qw(A B C D E F)],
        expect => { A => { sm => R(0, 0, 12, 2), xs => R(0, 0, 1, 2) },
                    B => { sm => R(0, 2, 4, 5),  xs => R(0, 2, 1, 5) },
                    C => { sm => R(4, 2, 8, 3),  xs => R(0, 7, 1, 3) },
                    D => { sm => R(4, 5, 6, 4),  xs => R(0, 10, 1, 4) },
                    E => { sm => R(0, 7, 4, 2),  xs => R(0, 14, 1, 2) },
                    F => { sm => R(10, 5, 2, 1), xs => R(0, 16, 1, 1) } },
        sorted => [qw(A B C D F E)],
    },
    {   name   => 'preserve: defaults 6x5, w clamped to 12, non-integer or non-positive sizes ignored',
        # G {} -> 6x5; H w 20 -> 12, h 0 -> 5; I w "4" -> 6, h 3.5 -> 5;
        # J 3x2; K w -3 -> 6, h -1 -> 5
        #   G 6x5  -> (0,0)   heights 5 5 5 5 5 5 0 0 0 0 0 0         xs y 0
        #   H 12x5 -> (0,5)   heights 10 x12                          xs y 5
        #   I 6x5  -> (0,10)  heights 15 15 15 15 15 15 10 x6         xs y 10
        #   J 3x2  -> x0..5 give 15, x6 gives 10 -> (6,10)
        #                     heights 15 x6, 12 12 12, 10 10 10       xs y 15
        #   K 6x5  -> x0..5 give 15, x6 gives 12 -> (6,12)            xs y 17
        tiles  => { G => {},
                    H => { sm => { x => 1, y => 1, w => 20, h => 0 } },
                    I => { sm => { x => 0, y => 0, w => '4', h => 3.5 } },
                    J => { sm => R(9, 9, 3, 2), xs => R(0, 0, 1, 2), lg => {} },
                    K => { sm => { w => -3, h => -1 } } },
        order  => [qw(G H I J K)],
        layout => 'preserve',
        expect => { G => { sm => R(0, 0, 6, 5),   xs => R(0, 0, 1, 5) },
                    H => { sm => R(0, 5, 12, 5),  xs => R(0, 5, 1, 5) },
                    I => { sm => R(0, 10, 6, 5),  xs => R(0, 10, 1, 5) },
                    J => { sm => R(6, 10, 3, 2),  xs => R(0, 15, 1, 2) },
                    K => { sm => R(6, 12, 6, 5),  xs => R(0, 17, 1, 5) } },
        sorted => [qw(G H I J K)],
    },
    {   name   => 'preserve: tiles not listed keep their layouts (overlap allowed)',
        #   O 12x2 -> (0,0), xs y 0;  M 6x5 -> (0,2), xs y 2;  N untouched
        tiles  => { M => { sm => R(0, 0, 6, 5) }, N => { sm => R(6, 0, 6, 5), xs => R(0, 5, 1, 5) },
                    O => { sm => R(0, 5, 12, 2) } },
        order  => [qw(O M)],
        expect => { O => { sm => R(0, 0, 12, 2), xs => R(0, 0, 1, 2) },
                    M => { sm => R(0, 2, 6, 5),  xs => R(0, 2, 1, 5) },
                    N => { sm => R(6, 0, 6, 5),  xs => R(0, 5, 1, 5) } },
        sorted => [qw(O N M)],
    },
    {   name   => 'two_column',
        # i -> sm (x (i%2)*6, y (i//2)*5, 6x5), xs (0, i*5, 1x5)
        tiles  => { T1 => { sm => R(0, 0, 2, 2) }, T2 => { sm => R(0, 2, 12, 9) }, T3 => {},
                    T4 => { xs => R(0, 0, 1, 1) }, T5 => { sm => R(5, 5, 5, 5) } },
        order  => [qw(T3 T1 T5 T2 T4)],
        layout => 'two_column',
        expect => { T3 => { sm => R(0, 0, 6, 5),  xs => R(0, 0, 1, 5) },
                    T1 => { sm => R(6, 0, 6, 5),  xs => R(0, 5, 1, 5) },
                    T5 => { sm => R(0, 5, 6, 5),  xs => R(0, 10, 1, 5) },
                    T2 => { sm => R(6, 5, 6, 5),  xs => R(0, 15, 1, 5) },
                    T4 => { sm => R(0, 10, 6, 5), xs => R(0, 20, 1, 5) } },
        sorted => [qw(T3 T1 T5 T2 T4)],
    },
    {   name   => 'full_width',
        # i -> sm (0, i*5, 12x5), xs (0, i*5, 1x5)
        tiles  => { F1 => { sm => R(0, 0, 3, 9) }, F2 => { sm => R(3, 3, 3, 3), xs => R(0, 3, 1, 3) }, F3 => {} },
        order  => [qw(F2 F3 F1)],
        layout => 'full_width',
        expect => { F2 => { sm => R(0, 0, 12, 5),  xs => R(0, 0, 1, 5) },
                    F3 => { sm => R(0, 5, 12, 5),  xs => R(0, 5, 1, 5) },
                    F1 => { sm => R(0, 10, 12, 5), xs => R(0, 10, 1, 5) } },
        sorted => [qw(F2 F3 F1)],
    },
);

for my $c (@CASES) {
    subtest "reorder_tiles: $c->{name}" => sub {
        my $d = $t->fixture_dashboard(team => $P, user => $U);
        my (%id, %name);
        for my $n (sort keys %{ $c->{tiles} }) {
            # mix insight and text tiles: the kind does not matter
            $id{$n} = $n =~ /[AEIM]|T2|F3/ ? $t->fixture_insight_tile(dashboard => $d, layouts => $c->{tiles}{$n})
                                             : $t->fixture_text_tile(dashboard => $d, body => $n, layouts => $c->{tiles}{$n});
            $name{ $id{$n} } = $n;
        }
        my $body = { tile_order => [ map { $id{$_} } @{ $c->{order} } ] };
        $body->{layout} = $c->{layout} if defined $c->{layout};
        my $r = reorder($d, $body);
        is $r->{status}, 200, 'status 200' or diag $r->{raw};
        my %got = map { $_ => tile_row($id{$_})->{layouts} } keys %id;
        is_deeply \%got, $c->{expect}, 'rows: layouts' or diag explain \%got;
        is_deeply [ map { $name{ $_->{id} } // $_->{id} } @{ $r->{json}{tiles} // [] } ], $c->{sorted},
            'answer: tiles in their new order';
        is_deeply { map { $name{ $_->{id} } // $_->{id} => $_->{layouts} } @{ $r->{json}{tiles} // [] } }, $c->{expect},
            'answer: layouts';
        is_deeply [ map { $_->{order} } @{ $r->{json}{tiles} // [] } ], [ 0 .. $#{ $c->{sorted} } ], 'answer: order 0..n-1';
        my $g = $t->api(GET => "/api/projects/$P/dashboards/$d/");
        my %a = %{ $r->{json} // {} };
        my %b = %{ $g->{json} // {} };
        delete $a{last_accessed_at};
        delete $b{last_accessed_at};
        is_deeply \%a, \%b, 'answer: the dashboard detail';
    };
}

subtest 'reorder_tiles: the same order twice gives the same layouts' => sub {
    my $d = $t->fixture_dashboard(team => $P, user => $U);
    my @ids = map { scalar $t->fixture_text_tile(dashboard => $d, body => "t$_", layouts => { sm => R(0, 0, 4 * $_, 2 + $_) }) } 1 .. 3;
    my $r = reorder($d, { tile_order => [ reverse @ids ] });
    is $r->{status}, 200, 'first' or diag $r->{raw};
    # C 12x5 -> (0,0); B 8x4 -> (0,5); A 4x3 -> x0..4 give 9, x8 gives 5 -> (8,5)
    my $want = [ { sm => R(8, 5, 4, 3), xs => R(0, 9, 1, 3) },
                 { sm => R(0, 5, 8, 4), xs => R(0, 5, 1, 4) },
                 { sm => R(0, 0, 12, 5), xs => R(0, 0, 1, 5) } ];
    is_deeply [ map { tile_row($_)->{layouts} } @ids ], $want, 'layouts';
    $r = reorder($d, { tile_order => [ reverse @ids ] });
    is $r->{status}, 200, 'second' or diag $r->{raw};
    is_deeply [ map { tile_row($_)->{layouts} } @ids ], $want, 'unchanged';
};

# ---------------------------------------------------------------------------
# errors

subtest 'reorder_tiles: duplicates and unknown ids (plain {"detail"} bodies)' => sub {
    my $d = $t->fixture_dashboard(team => $P, user => $U);
    my $other = $t->fixture_dashboard(team => $P, user => $U);
    my $ta = $t->fixture_text_tile(dashboard => $d, body => 'a', layouts => { sm => R(0, 0, 6, 5) });
    my $tb = $t->fixture_insight_tile(dashboard => $d, layouts => { sm => R(6, 0, 6, 5) });
    my $gone = $t->fixture_text_tile(dashboard => $d, body => 'gone', deleted => 1);
    my $elsewhere = $t->fixture_text_tile(dashboard => $other, body => 'x');
    my $before = snapshot();

    my $r = reorder($d, { tile_order => [ $ta, $tb, $ta ] });
    answer_is $r, 400, { detail => 'tile_order must contain unique tile IDs' }, 'duplicate id';
    is $r->{raw} =~ tr/:/:/, 1, 'a single key';
    answer_is reorder($d, { tile_order => [ $ta, 999999, 999999 ], layout => 'full_width' }), 400,
        { detail => 'tile_order must contain unique tile IDs' }, 'duplicated unknown id: the duplicate comes first';

    # numbers sorted as numbers (a text sort would put 1000000 first)
    my @missing = sort { $a <=> $b } (1000000, 55555, 999999, $gone, $elsewhere);
    $r = reorder($d, { tile_order => [ $ta, 1000000, 55555, $tb, 999999, $gone, $elsewhere ] });
    answer_is $r, 404, { detail => 'Tile IDs not found on this dashboard: [' . join(', ', @missing) . ']' },
        'unknown, soft-deleted and foreign tile ids';
    answer_is reorder($d, { tile_order => [ 7777777 ] }), 404,
        { detail => 'Tile IDs not found on this dashboard: [7777777]' }, 'a single unknown id';
    is_deeply snapshot(), $before, 'nothing changed';
};

subtest 'reorder_tiles: validation errors' => sub {
    my $d = $t->fixture_dashboard(team => $P, user => $U);
    my $a = $t->fixture_text_tile(dashboard => $d, body => 'a');
    my $before = snapshot();
    my @cases = (
        [ {}, verr('This field is required.', 'tile_order', 'required'), 'no tile_order' ],
        [ { tile_order => [] }, verr('Ensure this field has at least 1 elements.', 'tile_order', 'min_length'), 'empty tile_order' ],
        [ { tile_order => "$a" }, verr('Expected a list of items but got type "str".', 'tile_order', 'not_a_list'), 'tile_order a string' ],
        [ { tile_order => undef }, verr('This field may not be null.', 'tile_order', 'null'), 'tile_order null' ],
        [ { tile_order => [ $a, 'b' ] }, verr('A valid integer is required.', 'tile_order__1'), 'a non-integer id' ],
        [ { tile_order => [ $a ], layout => 'grid' }, verr('"grid" is not a valid choice.', 'layout', 'invalid_choice'), 'unknown layout' ],
        [ { tile_order => [ $a ], layout => undef }, verr('This field may not be null.', 'layout', 'null'), 'layout null' ],
    );
    for my $c (@cases) {
        answer_is reorder($d, $c->[0]), 400, $c->[1], $c->[2];
    }
    is_deeply snapshot(), $before, 'nothing changed';
};

subtest 'reorder_tiles: 404s and permissions' => sub {
    my %f = permission_fixtures($t, $w, env2 => 0);
    my ($member, $member_key, $read_key, $P2, $scoped_key, $org3, $P3, $u3) =
        @f{qw(member member_key read_key P2 scoped_key org3 P3 u3)};

    my $open = $t->fixture_dashboard(team => $P, user => $U);
    my $locked = $t->fixture_dashboard(team => $P, user => $U, restriction_level => 37);
    my $dead = $t->fixture_dashboard(team => $P, user => $U, deleted => 1);
    my $far = $t->fixture_dashboard(team => $P2, user => $U);
    my $d3 = $t->fixture_dashboard(team => $P3, user => $u3);
    my %tile = map { $_ => scalar $t->fixture_text_tile(dashboard => $_, body => 't', layouts => { sm => R(0, 9, 6, 5) }) }
               $open, $locked, $dead, $far, $d3;
    my $before = snapshot();

    answer_is reorder($open, { tile_order => [ $tile{$open} ] }, key => $read_key), 403,
        denied("API key missing required scope 'dashboard:write'"), 'read-only key';
    answer_is reorder($open, { tile_order => [ $tile{$open} ] }, key => $scoped_key), 403,
        denied("API key does not have access to the requested project: ID $P."), 'key scoped to another project';
    answer_is reorder($d3, { tile_order => [ $tile{$d3} ] }, project => $P3), 403,
        denied("You don't have access to the project."), 'project of another organization';
    answer_is reorder($far, { tile_order => [ $tile{$far} ] }), 404, $NOT_FOUND, 'dashboard of another project';
    answer_is reorder($dead, { tile_order => [ $tile{$dead} ] }), 404, $NOT_FOUND, 'deleted dashboard';
    answer_is reorder(999999, { tile_order => [ 1 ] }), 404, $NOT_FOUND, 'no such dashboard';
    answer_is reorder($locked, { tile_order => [ $tile{$locked} ] }, key => $member_key), 403,
        denied("You don't have edit permissions for this dashboard."), 'restriction level 37 without privilege';
    answer_is reorder($locked, { tile_order => [ $tile{$locked}, $tile{$locked} ] }, key => $member_key), 403,
        denied("You don't have edit permissions for this dashboard."), 'the permission comes before the duplicate check';
    is_deeply snapshot(), $before, 'the refusals changed nothing';

    $t->insert(ee_dashboardprivilege => { dashboard_id => $locked, user_id => $member, level => 37 });
    my $r = reorder($locked, { tile_order => [ $tile{$locked} ] }, key => $member_key);
    is $r->{status}, 200, 'collaborator with privilege 37: 200' or diag $r->{raw};
    is_deeply tile_row($tile{$locked})->{layouts}, { sm => R(0, 0, 6, 5), xs => R(0, 0, 1, 5) }, 'reordered';
};

subtest 'reorder_tiles: a failure midway leaves nothing' => sub {
    $t->failing_trigger(test_boom => q{NEW.color = 'boom' AND NEW.layouts IS DISTINCT FROM OLD.layouts});
    my $d = $t->fixture_dashboard(team => $P, user => $U);
    my @ids = map { scalar $t->fixture_text_tile(dashboard => $d, body => "t$_", layouts => { sm => R(0, 10 * $_, 6, 5) },
                                          ($_ == 3 ? (color => 'boom') : ())) } 1 .. 3;
    my $before = snapshot();
    $t->trigger_on(test_boom => 'posthog_dashboardtile', 'UPDATE');
    my $r = reorder($d, { tile_order => \@ids, layout => 'two_column' });
    $t->trigger_off(test_boom => 'posthog_dashboardtile');
    answer_is $r, 500, $SERVER_ERROR, 'the third tile cannot be written';
    is_deeply snapshot(), $before, 'the first two keep their layouts';
};

done_testing;
