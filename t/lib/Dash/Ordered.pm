package Dash::Ordered;

# Ordered JSON: JSON::PP loses key order, so the raw body is scanned once more
# into objects that remember it.  okeys($raw, @path) = the keys, in order, of
# the object at @path (keys for objects, indexes for arrays).  And the key
# orders PostHog's serializers give.
#
#   use Dash::Ordered qw(okeys @DETAIL_KEYS @USER_KEYS);
#   is_deeply okeys($r->{raw}), \@DETAIL_KEYS, 'keys in detail order';
#   is_deeply okeys($r->{raw}, 'tiles', 0, 'text'), \@TEXT_KEYS, 'text keys';
#
# Perl core only.

use strict;
use warnings;

use Exporter qw(import);
use JSON::PP ();

our @EXPORT_OK = qw(oparse okeys
                    @LIST_KEYS @DETAIL_KEYS @USER_KEYS @TILE_KEYS @TEXT_KEYS @INSIGHT_KEYS);

# DashboardBasicSerializer: an item of the list
our @LIST_KEYS = qw(id name description pinned created_at created_by
    last_accessed_at last_viewed_at is_shared deleted creation_mode tags
    restriction_level effective_restriction_level effective_privilege_level
    user_access_level access_control_version last_refresh team_id
    search_match_type);
# DashboardSerializer: the detail
our @DETAIL_KEYS = qw(id name description pinned created_at created_by last_accessed_at
    last_viewed_at is_shared deleted creation_mode filters variables breakdown_colors
    data_color_theme_id tags restriction_level effective_restriction_level
    effective_privilege_level user_access_level access_control_version last_refresh
    persisted_filters persisted_variables team_id quick_filter_ids tiles search_match_type);
# created_by, last_modified_by
our @USER_KEYS = qw(id uuid distinct_id first_name last_name email
    is_email_verified hedgehog_config role_at_organization);
# DashboardTileSerializer: a tile
our @TILE_KEYS = qw(id insight text button_tile widget layouts color filters_overrides
    show_description transparent_background order last_refresh is_cached);
# a tile's text: the Text model's field order (not checked against PostHog)
our @TEXT_KEYS = qw(id body created_by last_modified_at last_modified_by team dashboard_tiles);
our @INSIGHT_KEYS = qw(id short_id name derived_name filters query order deleted dashboards
    dashboard_tiles last_refresh cache_target_age next_allowed_client_refresh result hasMore
    columns created_at created_by description updated_at tags favorited saved last_modified_at
    last_modified_by is_sample effective_restriction_level effective_privilege_level
    user_access_level timezone is_cached query_status hogql types resolved_date_range alerts
    last_viewed_at search_match_type filters_hash);

# the value of a JSON text: objects as Dash::Ordered::Object
# ({keys => [in order], vals => {key => value}}), arrays as arrayrefs, strings
# decoded, numbers and true/false/null as their source text
sub oparse {
    my ($text) = @_;
    my $pos = 0;
    my $v = _ovalue(\$text, \$pos);
    return $v;
}

sub _ows { my ($s, $p) = @_; pos($$s) = $$p; $$s =~ /\G\s*/gc; $$p = pos($$s) }

sub _ovalue {
    my ($s, $p) = @_;
    _ows($s, $p);
    my $c = substr($$s, $$p, 1);
    if ($c eq '{') {
        $$p++;
        my $o = bless { keys => [], vals => {} }, 'Dash::Ordered::Object';
        _ows($s, $p);
        if (substr($$s, $$p, 1) eq '}') { $$p++; return $o }
        while (1) {
            _ows($s, $p);
            my $k = _ostring($s, $p);
            _ows($s, $p);
            die "':' expected at $$p" unless substr($$s, $$p++, 1) eq ':';
            push @{ $o->{keys} }, $k;
            $o->{vals}{$k} = _ovalue($s, $p);
            _ows($s, $p);
            my $d = substr($$s, $$p++, 1);
            last if $d eq '}';
            die "',' expected at $$p" unless $d eq ',';
        }
        return $o;
    }
    if ($c eq '[') {
        $$p++;
        my @a;
        _ows($s, $p);
        if (substr($$s, $$p, 1) eq ']') { $$p++; return \@a }
        while (1) {
            push @a, _ovalue($s, $p);
            _ows($s, $p);
            my $d = substr($$s, $$p++, 1);
            last if $d eq ']';
            die "',' expected at $$p" unless $d eq ',';
        }
        return \@a;
    }
    return _ostring($s, $p) if $c eq '"';
    pos($$s) = $$p;
    if ($$s =~ /\G(-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?|true|false|null)/gc) {
        $$p = pos($$s);
        return $1;
    }
    die "bad JSON at $$p: " . substr($$s, $$p, 20);
}

sub _ostring {
    my ($s, $p) = @_;
    pos($$s) = $$p;
    $$s =~ /\G("(?:[^"\\]|\\.)*")/gc or die "string expected at $$p";
    $$p = pos($$s);
    return JSON::PP->new->allow_nonref->decode($1);
}

# the keys, in order, of the object at @path in $raw (a JSON text, or what
# oparse() returned); undef when that is not an object
sub okeys {
    my ($raw, @path) = @_;
    my $v = ref $raw ? $raw : oparse($raw);
    for my $k (@path) {
        $v = ref $v eq 'Dash::Ordered::Object' ? $v->{vals}{$k} : $v->[$k];
    }
    return ref $v eq 'Dash::Ordered::Object' ? $v->{keys} : undef;
}

1;
