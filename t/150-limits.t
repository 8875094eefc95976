#!/usr/bin/perl
# What one request may carry, and what one request may cost PostgreSQL.
#
# PostHog caps none of these; here a request carries at most 200 tiles
# (PATCH tiles and duplicate_tiles, reorder_tiles' tile_order, a template's
# tiles), 100 tags per object (create, PATCH, bulk_update_tags, a template)
# and 10 keys in one tile's layouts (PostHog's grid has two breakpoints, sm
# and xs).  Beyond that: 400 in DRF's shape, naming the field, and nothing
# written.  bench/worst-case times the largest accepted request of every
# write endpoint.
#
# The layout compaction of delete_tile reads the layouts once: a dashboard
# stored with 20 tiles of 1,400 layout keys each (before the caps) is
# compacted well within the query timeout, every breakpoint as before.

use strict;
use warnings;
use utf8;
use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use Dash;
use Dash::Errors qw(verr answer_is);

my $t = Dash->new(query_timeout => '20s');
my $w = $t->world;
my $P = $w->{project};
my $U = $w->{user};
my $base = "/api/projects/$P/dashboards";

my @TABLES = (posthog_dashboard => 'rows', posthog_dashboardtile => 'rows', posthog_text => 'rows',
              posthog_tag => 'rows', posthog_taggeditem => 'rows', posthog_dashboarditem => 'rows');

sub refused {
    my ($method, $path, $body, $detail, $attr, $name) = @_;
    local $Test::Builder::Level = $Test::Builder::Level + 1;
    my $before = $t->db_state(@TABLES);
    answer_is $t->api($method => $path, body => $body), 400, verr($detail, $attr, 'max_length'), $name;
    is $t->db_state(@TABLES), $before, "$name: nothing written";
}

sub keys_layouts { my $n = shift; return { map { ("bp$_" => { x => 0, y => $_, w => 1, h => 1 }) } 1 .. $n } }

my $d = $t->fixture_dashboard(team => $P, user => $U, name => 'Limits');
my ($tile) = $t->fixture_text_tile(dashboard => $d, body => 'one', layouts => { sm => { x => 0, y => 0, w => 6, h => 5 } });

# --- PATCH tiles / duplicate_tiles --------------------------------------------

refused(PATCH => "$base/$d/", { tiles => [ ({ id => $tile }) x 201 ] },
        'Ensure this field has no more than 200 elements.', 'tiles', 'PATCH with 201 tiles');
my $r = $t->api(PATCH => "$base/$d/", body => { tiles => [ ({ id => $tile, color => 'blue' }) x 200 ] });
is $r->{status}, 200, 'PATCH with 200 tiles: 200';
is $t->row(posthog_dashboardtile => $tile)->{color}, 'blue', 'and applied';

refused(PATCH => "$base/$d/", { duplicate_tiles => [ ({ id => $tile }) x 201 ] },
        'Ensure this field has no more than 200 elements.', 'duplicate_tiles', 'PATCH with 201 duplicate_tiles');

refused(PATCH => "$base/$d/", { tiles => [ { id => $tile, color => 'x' }, { id => $tile, layouts => keys_layouts(11) } ] },
        'Ensure this field has no more than 10 keys.', 'tiles__1__layouts', 'a tile\'s layouts with 11 keys');
refused(PATCH => "$base/$d/", { duplicate_tiles => [ { id => $tile, layouts => keys_layouts(11) } ] },
        'Ensure this field has no more than 10 keys.', 'duplicate_tiles__0__layouts',
        'a duplicated tile\'s layouts with 11 keys');
$r = $t->api(PATCH => "$base/$d/", body => { tiles => [ { id => $tile, layouts => keys_layouts(10) } ] });
is $r->{status}, 200, 'layouts with 10 keys: 200';
is_deeply $t->row(posthog_dashboardtile => $tile)->{layouts}, keys_layouts(10), 'stored as sent';

# --- tags ---------------------------------------------------------------------

my @tags = map { "t$_" } 1 .. 101;
refused(POST => "$base/", { name => 'many tags', tags => \@tags },
        'Ensure this field has no more than 100 elements.', 'tags', 'create with 101 tags');
refused(PATCH => "$base/$d/", { tags => \@tags },
        'Ensure this field has no more than 100 elements.', 'tags', 'PATCH with 101 tags');
$r = $t->api(PATCH => "$base/$d/", body => { tags => [ @tags[0 .. 99] ] });
is $r->{status}, 200, 'PATCH with 100 tags: 200';
is scalar(@{ $r->{json}{tags} }), 100, 'all 100 kept';
refused(POST => "$base/bulk_update_tags/", { ids => [$d], action => 'add', tags => \@tags },
        'Ensure this field has no more than 100 elements.', 'tags', 'bulk_update_tags with 101 tags');

# bulk_update_tags: at most 5,000 links per request (ids x tags)
{
    my @many = map { $t->fixture_dashboard(team => $P, user => $U, name => "bulk $_") } 1 .. 51;
    refused(POST => "$base/bulk_update_tags/", { ids => \@many, action => 'add', tags => [ @tags[0 .. 98] ] },
            'Ensure this field has no more than 98 elements.', 'tags', 'bulk_update_tags: 51 ids x 99 tags');
    $r = $t->api(POST => "$base/bulk_update_tags/", body => { ids => \@many, action => 'add', tags => [ @tags[0 .. 97] ] });
    is $r->{status}, 200, 'bulk_update_tags: 51 ids x 98 tags: 200';
    is $t->sql_value('SELECT count(*) FROM posthog_taggeditem WHERE dashboard_id = ANY ($1)', \@many), 51 * 98,
        'every link written';
    refused(POST => "$base/bulk_update_tags/", { ids => [ @many, (1000000 .. 1000448) ], action => 'set', tags => [ 'a' .. 'k' ] },
            'Ensure this field has no more than 10 elements.', 'tags', 'bulk_update_tags: 500 ids x 11 tags');
}

# --- reorder_tiles ------------------------------------------------------------

refused(POST => "$base/$d/reorder_tiles/", { tile_order => [ 1 .. 201 ] },
        'Ensure this field has no more than 200 elements.', 'tile_order', 'reorder_tiles with 201 ids');

# --- create_from_template_json -------------------------------------------------

sub template { return { template_name => 'T', dashboard_description => '', dashboard_filters => {},
                        tiles => [ { type => 'TEXT', body => 'x' } ], @_ } }
refused(POST => "$base/create_from_template_json/",
        { template => template(tiles => [ ({ type => 'TEXT', body => 'x' }) x 201 ]) },
        'Ensure this field has no more than 200 elements.', 'template__tiles', 'a template with 201 tiles');
refused(POST => "$base/create_from_template_json/", { template => template(tags => \@tags) },
        'Ensure this field has no more than 100 elements.', 'template__tags', 'a template with 101 tags');
refused(POST => "$base/create_from_template_json/",
        { template => template(tiles => [ { type => 'TEXT', body => 'x' },
                                          { type => 'TEXT', body => 'y', layouts => keys_layouts(11) } ]) },
        'Ensure this field has no more than 10 keys.', 'template__tiles__1__layouts',
        'a template tile\'s layouts with 11 keys');
$r = $t->api(POST => "$base/create_from_template_json/",
             body => { template => template(tags => [ @tags[0 .. 99] ],
                                            tiles => [ ({ type => 'TEXT', body => 'x', layouts => keys_layouts(10) }) x 200 ]) });
is $r->{status}, 200, 'a template with 200 tiles, 100 tags and 10 layout keys: 200';
is scalar(@{ $r->{json}{tiles} }), 200, 'with its 200 tiles';

# --- compaction: one read of the layouts ---------------------------------------

{
    my $big = $t->fixture_dashboard(team => $P, user => $U, name => 'Many breakpoints');
    my @ids;
    # tile i: in every breakpoint a full-width box of height 2 at y = 2i + 1
    # (a gap above each); deleting tile 0 lets every other one move up to 2(i - 1)
    for my $i (0 .. 19) {
        my %l = map { ("k$_" => { x => 0, y => 2 * $i + 1, w => 12, h => 2 }) } 1 .. 1400;
        push @ids, scalar $t->fixture_text_tile(dashboard => $big, body => "t$i", layouts => \%l);
    }
    $r = $t->api(POST => "$base/$big/delete_tile/", body => { tile_id => $ids[0] });
    is $r->{status}, 204, 'delete_tile on 20 tiles of 1,400 layout keys each: 204 within the query timeout'
        or diag $r->{raw};
    my $wrong = $t->sql_value(q{
        SELECT count(*) FROM posthog_dashboardtile t, jsonb_each(t.layouts) e
         WHERE t.dashboard_id = $1 AND t.deleted IS DISTINCT FROM true
           AND (e.value ->> 'y')::int <> 2 * ((SELECT count(*) FROM posthog_dashboardtile o
                                                WHERE o.dashboard_id = t.dashboard_id AND o.id < t.id) - 1)}, $big);
    is $wrong, 0, 'every box of every breakpoint moved up to its place';
    is $t->sql_value(q{SELECT count(*) FROM posthog_dashboardtile t, jsonb_each(t.layouts) e
                        WHERE t.dashboard_id = $1 AND e.value <> jsonb_build_object('x', 0, 'y', e.value -> 'y',
                                                                                     'w', 12, 'h', 2)}, $big), 0,
        'only y changed';
}

done_testing;
