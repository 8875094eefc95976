#!/usr/bin/perl
# A text (or a button) shared by several dashboards (copy_tile, or a
# duplication without duplicate_tiles) is copied on write when one of those
# dashboards is one the user may not edit (restriction level 37, the user a
# member without the edit privilege): the edited tile gets a row of its own,
# the restricted dashboard keeps the old one.  PostHog edits the shared row in
# place, so a member who may only view a restricted dashboard could rewrite
# its text through a copy on a dashboard of their own.  When every dashboard
# showing the row is editable by the user, the row stays shared and is edited
# in place, as PostHog does.

use strict;
use warnings;
use utf8;
use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use Dash;
use Dash::Actions qw(advanced_world dashboard_action permission_fixtures);
use Dash::Access qw(acl_world member rule);

my $t = Dash->new;
my $w = advanced_world($t);
my $P = $w->{project};
my $U = $w->{user};
my %f = permission_fixtures($t, $w);
my ($member, $member_key) = @f{qw(member member_key)};

sub act { dashboard_action($t, $P, @_) }
sub text_of_tile { $t->sql_value('SELECT text_id FROM posthog_dashboardtile WHERE id = $1', $_[0]) }
sub body_of_text { $t->sql_value('SELECT body FROM posthog_text WHERE id = $1', $_[0]) }
sub count_texts { $t->sql_value('SELECT count(*) FROM posthog_text') }
sub tile_on {
    my ($d, $text) = @_;
    $t->sql_value('SELECT id FROM posthog_dashboardtile WHERE dashboard_id = $1 AND text_id = $2', $d, $text);
}
sub shown_texts {
    my ($d, $key) = @_;
    my $r = $t->api(GET => "/api/projects/$P/dashboards/$d/", defined $key ? (key => $key) : ());
    return [ sort map { $_->{text} ? $_->{text}{body} : () } @{ $r->{json}{tiles} // [] } ];
}
sub new_dashboard {
    my ($name, $key, %body) = @_;
    my $r = $t->api(POST => "/api/projects/$P/dashboards/", body => { name => $name, %body }, key => $key);
    is $r->{status}, 201, "$name created";
    return $r->{json}{id};
}

# the restricted dashboard: the admin's, level 37; the member may view it only
my $R = $t->fixture_dashboard(team => $P, user => $U, name => 'Restricted', restriction_level => 37);
my ($r_tile, $r_text) = $t->fixture_text_tile(dashboard => $R, body => 'Original');
my ($r_tile2, $r_text2) = $t->fixture_text_tile(dashboard => $R, body => 'Second');
my $r = act(POST => $R, 'update_text_tile', { tile_id => $r_tile, body => 'x' }, key => $member_key);
is $r->{status}, 403, 'the member may not edit the restricted dashboard itself';

# --- update_text_tile on a copy ----------------------------------------------

my $D = new_dashboard('Mine', $member_key);
$r = act(POST => $D, 'copy_tile', { fromDashboardId => $R, tileId => $r_tile }, key => $member_key);
is $r->{status}, 200, 'the member copies the restricted text to a dashboard of their own';
my $d_tile = tile_on($D, $r_text);
ok $d_tile, 'the copy links the same text row';

my $texts = count_texts();
$r = act(POST => $D, 'update_text_tile', { tile_id => $d_tile, body => 'Changed by the member' }, key => $member_key);
is $r->{status}, 200, 'update_text_tile on the member\'s dashboard: 200';
is $r->{json}{text}{body}, 'Changed by the member', 'the answer has the new body';
isnt $r->{json}{text}{id}, $r_text, 'and a text of its own';
is text_of_tile($d_tile), $r->{json}{text}{id}, 'the member\'s tile links the new text';
is body_of_text($r_text), 'Original', 'the shared text row is unchanged';
is text_of_tile($r_tile), $r_text, 'the restricted tile still links it';
is count_texts(), $texts + 1, 'one text row more';
is_deeply shown_texts($R), ['Original', 'Second'], 'the restricted dashboard still shows the original text';
is_deeply shown_texts($D, $member_key), ['Changed by the member'], 'the member\'s dashboard shows the change';
isnt $t->sql_value('SELECT coalesce(last_modified_by_id, 0) FROM posthog_text WHERE id = $1', $r_text), $member,
    'the original text is not marked as modified by the member';

# now the member's own: a second change is in place
$texts = count_texts();
my $own = text_of_tile($d_tile);
$r = act(POST => $D, 'update_text_tile', { tile_id => $d_tile, body => 'Again' }, key => $member_key);
is $r->{status}, 200, 'a second change: 200';
is text_of_tile($d_tile), $own, 'in place on the member\'s own text';
is count_texts(), $texts, 'no text row more';
is body_of_text($r_text), 'Original', 'the restricted text is still the original';

# --- PATCH tiles[].text on a copy ---------------------------------------------

my $D2 = new_dashboard('Mine 2', $member_key);
$r = act(POST => $D2, 'copy_tile', { fromDashboardId => $R, tileId => $r_tile2 }, key => $member_key);
is $r->{status}, 200, 'the member copies the second restricted text';
my $d2_tile = tile_on($D2, $r_text2);
$texts = count_texts();
$r = $t->api(PATCH => "/api/projects/$P/dashboards/$D2/", key => $member_key,
             body => { tiles => [ { id => $d2_tile, text => { id => $r_text2, body => 'Patched by the member' } } ] });
is $r->{status}, 200, 'PATCH tiles[].text with the shared text id: 200';
my ($patched) = grep { $_->{id} == $d2_tile } @{ $r->{json}{tiles} };
is $patched->{text}{body}, 'Patched by the member', 'the answer shows the new body on the member\'s tile';
isnt $patched->{text}{id}, $r_text2, 'in a text of its own';
is body_of_text($r_text2), 'Second', 'the shared text row is unchanged';
is count_texts(), $texts + 1, 'one text row more';
is_deeply shown_texts($R), ['Original', 'Second'], 'the restricted dashboard still shows its texts';

# --- a duplication shares texts and buttons ----------------------------------

# (PATCH tiles[].button_tile is not taken by this module: the button row is
# changed by no request; ngx_dashboards_own_button is the same copy-on-write
# for the day it is)
my $button = $t->insert(posthog_buttontile => { url => 'https://example.com/', text => 'Go', team_id => $P });
my $r_button_tile = $t->insert(posthog_dashboardtile => { dashboard_id => $R, button_tile_id => $button->{id},
                                                          team_id => $P, layouts => {}, filters_overrides => {} })->{id};
my $D3 = new_dashboard('Duplicate', $member_key, use_dashboard => $R);
my $d3_button_tile = $t->sql_value('SELECT id FROM posthog_dashboardtile WHERE dashboard_id = $1 AND button_tile_id = $2',
                                   $D3, $button->{id});
ok $d3_button_tile, 'the duplicate links the same button row';
$r = $t->api(PATCH => "/api/projects/$P/dashboards/$D3/", key => $member_key,
             body => { tiles => [ { id => $d3_button_tile,
                                    button_tile => { id => $button->{id}, url => 'https://evil.example/', text => 'Click' } } ] });
is $r->{status}, 200, 'PATCH tiles[].button_tile with the shared button id: 200';
my $b = $t->row(posthog_buttontile => $button->{id});
is_deeply [ $b->{url}, $b->{text} ], [ 'https://example.com/', 'Go' ], 'the shared button row is unchanged';
my $own_button = $t->sql_value('SELECT ngx_dashboards_own_button($1, $2, $3)', $D3, $button->{id}, $member);
isnt $own_button, $button->{id}, 'ngx_dashboards_own_button for the member: a new button row';
is $t->sql_value('SELECT button_tile_id FROM posthog_dashboardtile WHERE id = $1', $d3_button_tile), $own_button,
    'linked by the duplicate\'s tile';
is $t->sql_value('SELECT button_tile_id FROM posthog_dashboardtile WHERE id = $1', $r_button_tile), $button->{id},
    'the restricted tile keeps the original';
is $t->sql_value('SELECT ngx_dashboards_own_button($1, $2, $3)', $D3, $own_button, $member), $own_button,
    'the member\'s own button: the same row';

# the duplicate's texts are shared with the restricted dashboard as well
my $d3_text_tile = tile_on($D3, $r_text);
$r = act(POST => $D3, 'update_text_tile', { tile_id => $d3_text_tile, body => 'Through the duplicate' },
         key => $member_key);
is $r->{status}, 200, 'update_text_tile on the duplicate: 200';
is body_of_text($r_text), 'Original', 'the restricted text is unchanged';

# --- a soft-deleted tile on a restricted dashboard counts as well -------------

my ($r_tile3, $r_text3) = $t->fixture_text_tile(dashboard => $R, body => 'Hidden');
my $D4 = new_dashboard('Mine 4', $member_key);
$r = act(POST => $D4, 'copy_tile', { fromDashboardId => $R, tileId => $r_tile3 }, key => $member_key);
is $r->{status}, 200, 'the member copies a third restricted text';
$t->sql('UPDATE posthog_dashboardtile SET deleted = true WHERE id = $1', $r_tile3);
$r = act(POST => $D4, 'update_text_tile', { tile_id => tile_on($D4, $r_text3), body => 'x' }, key => $member_key);
is $r->{status}, 200, 'update_text_tile: 200';
is body_of_text($r_text3), 'Hidden', 'the text of the soft-deleted restricted tile is unchanged (it may be restored)';

# --- PostHog's sharing stays where the user may edit every dashboard ----------

# the admin may edit the restricted dashboard: edits through a copy reach it
my $E = $t->fixture_dashboard(team => $P, user => $U, name => 'Admin copy');
$r = act(POST => $E, 'copy_tile', { fromDashboardId => $R, tileId => $r_tile2 });
is $r->{status}, 200, 'the admin copies a restricted text';
$texts = count_texts();
$r = act(POST => $E, 'update_text_tile', { tile_id => tile_on($E, $r_text2), body => 'Edited by the admin' });
is $r->{status}, 200, 'the admin edits it on the copy: 200';
is $r->{json}{text}{id}, $r_text2, 'the shared text itself';
is body_of_text($r_text2), 'Edited by the admin', 'changed in place';
is count_texts(), $texts, 'no text row more';
is_deeply shown_texts($R), ['Edited by the admin', 'Original'],
    'the restricted dashboard shows the admin\'s change (both dashboards are the admin\'s to edit)';

# the member, between two dashboards of their own (and an unrestricted one)
my $open = $t->fixture_dashboard(team => $P, user => $U, name => 'Open');
my ($o_tile, $o_text) = $t->fixture_text_tile(dashboard => $open, body => 'Shared');
my $D5 = new_dashboard('Mine 5', $member_key);
$r = act(POST => $D5, 'copy_tile', { fromDashboardId => $open, tileId => $o_tile }, key => $member_key);
is $r->{status}, 200, 'the member copies a text of an unrestricted dashboard';
$texts = count_texts();
$r = $t->api(PATCH => "/api/projects/$P/dashboards/$D5/", key => $member_key,
             body => { tiles => [ { id => tile_on($D5, $o_text), text => { id => $o_text, body => 'Shared, edited' } } ] });
is $r->{status}, 200, 'PATCH tiles[].text: 200';
is body_of_text($o_text), 'Shared, edited', 'the shared text is changed in place';
is count_texts(), $texts, 'no text row more';
is_deeply shown_texts($open), ['Shared, edited'], 'both dashboards show the change, as in PostHog';

# the restricted dashboard's owner gives the member the edit privilege: in place again
$t->insert(ee_dashboardprivilege => { dashboard_id => $R, user_id => $member, level => 37,
                                      added_at => \'now()', updated_at => \'now()' });
my $D6 = new_dashboard('Mine 6', $member_key);
$r = act(POST => $D6, 'copy_tile', { fromDashboardId => $R, tileId => $r_tile }, key => $member_key);
is $r->{status}, 200, 'a member with the edit privilege copies a restricted text';
$r = act(POST => $D6, 'update_text_tile', { tile_id => tile_on($D6, $r_text), body => 'Privileged' },
         key => $member_key);
is $r->{status}, 200, 'and edits it: 200';
is $r->{json}{text}{id}, $r_text, 'in place';
is body_of_text($r_text), 'Privileged', 'the restricted dashboard shows it (the member may edit it)';

# --- the same under PostHog's access rules (v2) --------------------------------
# a dashboard the member may only view because of an ee_accesscontrol rule
# (no restriction level) is protected the same way
{
    my $w2 = acl_world($t);
    my $P2 = $w2->{project};
    my $m = member($t, $w2);
    my $V = $t->fixture_dashboard(team => $P2, user => $w2->{user}, name => 'Viewer only');
    my ($v_tile, $v_text) = $t->fixture_text_tile(dashboard => $V, body => 'Rule-protected');
    rule($t, $w2->{team}, 'dashboard', $V, 'viewer', member => $m);
    my $r2 = dashboard_action($t, $P2, POST => $V, 'update_text_tile', { tile_id => $v_tile, body => 'x' },
                              key => $m->{key});
    is $r2->{status}, 403, 'v2: the member may not edit the dashboard the rule makes read-only';
    $r2 = $t->api(POST => "/api/projects/$P2/dashboards/", body => { name => 'Mine v2' }, key => $m->{key});
    is $r2->{status}, 201, 'v2: the member creates a dashboard';
    my $M = $r2->{json}{id};
    $r2 = dashboard_action($t, $P2, POST => $M, 'copy_tile', { fromDashboardId => $V, tileId => $v_tile },
                           key => $m->{key});
    is $r2->{status}, 200, 'v2: the member copies the text to their own dashboard';
    my $m_tile = $t->sql_value('SELECT id FROM posthog_dashboardtile WHERE dashboard_id = $1 AND text_id = $2',
                               $M, $v_text);
    ok $m_tile, 'v2: the copy links the same text row';
    $r2 = dashboard_action($t, $P2, POST => $M, 'update_text_tile', { tile_id => $m_tile, body => 'Changed' },
                           key => $m->{key});
    is $r2->{status}, 200, 'v2: update_text_tile on the copy: 200';
    isnt $r2->{json}{text}{id}, $v_text, 'v2: the edited tile gets a text of its own';
    is body_of_text($v_text), 'Rule-protected', 'v2: the rule-protected dashboard keeps its text';
    is text_of_tile($v_tile), $v_text, 'v2: and still links it';
}

done_testing;
