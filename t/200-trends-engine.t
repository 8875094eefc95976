#!/usr/bin/perl
# The TrendsQuery engine in SQL (sql/migrations/011_trends.sql), called
# directly: SELECT ngx_dashboards_trends(team, query, now) with a fixed now,
# over events inserted by hand.  Every expectation below is computed by hand
# from PostHog's TrendsQueryRunner rules (date ranges in the team's timezone,
# current partial interval included, row shape and key order, labels,
# breakdown ranking with the null and other markers, compare periods,
# formulas, total-value rows, property filters and their missing-property
# semantics), plus the cache key, staleness and dashboard filter helpers.

use strict;
use warnings;
use utf8;
use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use Dash;
use Dash::Ordered qw(okeys);
use JSON::PP;
use IPC::Open2 qw(open2);
use File::Temp;
use Encode qw(encode_utf8 decode_utf8);
use Carp ();

my $t = Dash->new(start => 0);

# ---------------------------------------------------------------------------
# One psql session for the whole file: $t->sql (and sql_value, sql_row, the
# fixtures) send each statement down a pipe to it and read the rows back up
# to a marker, instead of starting a psql per statement (hundreds of engine
# calls).  Rows come back as Dash::Cluster::psql gives them (same separators,
# NULL as undef); a failing statement ends the session (ON_ERROR_STOP) and
# dies with its message, as there.
my ($PIN, $POUT, $PERR);
{
    my $c = $t->{cluster};
    $PERR = File::Temp->new(TEMPLATE => 'dash-200err-XXXXXX', TMPDIR => 1);
    local $ENV{PGCLIENTENCODING} = 'UTF8';
    local $ENV{PGOPTIONS} = $ENV{DASH_PSQL_PGOPTIONS}
        // '-c client_min_messages=warning -c search_path=ngx_dashboards,public';
    open(my $saved, '>&', \*STDERR) or die "dup: $!";
    open(STDERR, '>', $PERR->filename) or die "stderr: $!";
    open2($POUT, $PIN, $c->psql_cmd($t->{db}));
    open(STDERR, '>&', $saved) or die "restore stderr: $!";
    binmode $PIN;
    binmode $POUT;
    $PIN->autoflush(1);
}
my $MARK = "dash-200-end-$$";
sub session_sql {
    my ($sql, @bind) = @_;
    $sql = Dash::Cluster::interpolate($sql, @bind);
    (my $send = $sql) =~ s/[\s;]+\z//;
    local $SIG{PIPE} = 'IGNORE';     # a session that ended: read EOF below
    print $PIN encode_utf8($send), "\n;\n\\echo $MARK\n";
    my ($out, $done) = ('', 0);
    while (defined(my $line = <$POUT>)) {
        if ($line =~ /\A(.*)\Q$MARK\E\n\z/s) { $out .= $1; $done = 1; last }
        $out .= $line;
    }
    unless ($done) {
        my $err = decode_utf8(do { open my $e, '<', $PERR->filename; local $/; <$e> } // '');
        $err =~ s/^psql:\S+?:\d+: //mg;
        chomp $err;
        Carp::croak("SQL failed: $err\n--- SQL:\n$sql\n");
    }
    my @rows;
    for my $rec (split /\0/, decode_utf8($out), -1) {
        $rec =~ s/\n\z//;
        next if $rec eq '';
        push @rows, [ map { $_ eq $Dash::Cluster::NULL ? undef : $_ } split /\x1f/, $rec, -1 ];
    }
    return \@rows;
}
{
    no warnings 'redefine';
    my $orig = \&Dash::sql;
    *Dash::sql = sub {
        my ($self, @rest) = @_;
        return $self == $t ? session_sql(@rest) : $orig->(@_);
    };
}

my $w = $t->world;
my $T = $w->{team};
my $J = JSON::PP->new->canonical;

# ---------------------------------------------------------------------------
# helpers

# events: [event, distinct_id, timestamp, {properties}]
sub events {
    my ($team, @ev) = @_;
    $t->sql(q{INSERT INTO posthog_event (team_id, event, distinct_id, "timestamp", properties)
              SELECT $1, x->>0, x->>1, (x->>2)::timestamptz,
                     CASE WHEN jsonb_typeof(x->3) = 'object' THEN x->3 ELSE '{}' END
                FROM jsonb_array_elements(($2::jsonb)->'e') x}, $team, { e => \@ev });
}

# a person with properties and distinct ids; returns its id
sub person {
    my ($team, $props, @distinct) = @_;
    my $id = $t->sql_value(q{INSERT INTO posthog_person (team_id, properties)
                             VALUES ($1, $2::jsonb) RETURNING id}, $team, $props);
    $t->sql(q{INSERT INTO posthog_persondistinctid (team_id, person_id, distinct_id)
              SELECT $1, $2, unnest($3::text[])}, $team, $id, \@distinct);
    return $id;
}

sub project {
    my (%o) = @_;
    my $tf = delete $o{test_account_filters};
    my $id = $t->fixture_project(org => $w->{org}, %o);
    $t->sql('UPDATE posthog_team SET test_account_filters = $2::jsonb WHERE id = $1', $id, { f => $tf })
        if $tf;
    $t->sql(q{UPDATE posthog_team SET test_account_filters = test_account_filters->'f' WHERE id = $1}, $id)
        if $tf;
    return $id;
}

# (decoded result, raw json text)
sub trends {
    my ($team, $q, $now) = @_;
    my $raw = $t->sql_value('SELECT ngx_dashboards_trends($1, $2::jsonb, $3::timestamptz)', $team, $q, $now);
    return ($J->decode($raw), $raw);
}

# one series' numbers, quickly
sub series_data {
    my ($team, $q, $now) = @_;
    my ($r) = trends($team, $q, $now);
    return [ map { $_->{data} } @{ $r->{results} } ];
}

$t->sql(q{CREATE FUNCTION t_try(p_team int, p_q jsonb, p_now timestamptz) RETURNS text
          LANGUAGE plpgsql AS $f$
          BEGIN
              PERFORM ngx_dashboards_trends(p_team, p_q, p_now);
              RETURN 'ok';
          EXCEPTION WHEN others THEN
              RETURN SQLSTATE || ' ' || SQLERRM;
          END $f$});

# a 400 validation error: SQLSTATE DB400 and PostHog's body
sub refused {
    my ($team, $q, $now, $detail, $name) = @_;
    my $got = $t->sql_value('SELECT t_try($1, $2::jsonb, $3::timestamptz)', $team, $q, $now);
    my ($state, $body) = $got =~ /^(\S+) (.*)$/s;
    is $state, 'DB400', "$name: DB400";
    my $b = eval { $J->decode($body) } // {};
    is_deeply [ sort keys %$b ], [qw(attr code detail type)], "$name: body keys";
    is $b->{type}, 'validation_error', "$name: type";
    is $b->{code}, 'invalid_input', "$name: code";
    ok !defined $b->{attr}, "$name: attr null";
    if (ref $detail) { like $b->{detail}, $detail, "$name: detail" }
    else { is $b->{detail}, $detail, "$name: detail" }
}

sub tq { return { kind => 'TrendsQuery', @_ } }
sub ev { my ($event, %o) = @_; return { kind => 'EventsNode', event => $event, %o } }

# ---------------------------------------------------------------------------
# 1. PostHog's worked example: day interval, two series, every key in order

my $NOW = '2025-01-03T10:00:00Z';
my $OTHER = project(name => 'Other team');
events($T,
    ['$pageview', 'u1', '2024-12-31T23:59:59Z'],            # before the range
    (map { ['$pageview', 'u1', "2025-01-01T0$_:00:00Z"] } 1 .. 3),
    (map { ['$pageview', 'u2', "2025-01-02T1$_:00:00Z"] } 1 .. 5),
    ['$pageview', 'u3', '2025-01-03T23:59:58Z'],            # later today: counted
    ['$pageview', 'u3', '2025-01-04T00:00:00Z'],            # tomorrow
    ['$pageleave', 'u1', '2025-01-01T05:00:00Z'],
    ['$pageleave', 'u1', '2025-01-01T06:00:00Z'],
    ['$pageleave', 'u2', '2025-01-01T06:00:00Z'],
    ['$pageleave', 'u1', '2025-01-02T06:00:00Z'],
    ['$pageleave', 'u3', '2025-01-02T06:00:00Z'],
    ['$pageleave', 'u3', '2025-01-03T01:00:00Z'],
);
# another team's events are never counted
events($OTHER, map { ['$pageview', 'u1', '2025-01-02T12:00:00Z'] } 1 .. 7);

my $Q1 = tq(series => [ ev('$pageview', math => 'total'), ev('$pageleave', math => 'dau') ],
            interval => 'day', dateRange => { date_from => '-2d' });
my ($r, $raw) = trends($T, $Q1, $NOW);
my $filter = { insight => 'TRENDS', properties => [], filter_test_accounts => JSON::PP::false,
               date_to => '2025-01-03T23:59:59.999999Z', date_from => '2025-01-01T00:00:00Z',
               entity_type => 'events', interval => 'day' };
my @days = ('2025-01-01T00:00:00Z', '2025-01-02T00:00:00Z', '2025-01-03T00:00:00Z');
sub action {
    my (%o) = @_;
    return { days => \@days, id => '$pageview', type => 'events', order => 0, name => '$pageview',
             custom_name => undef, math => 'total', math_property => undef, math_hogql => undef,
             math_group_type_index => undef, properties => {}, %o };
}
is_deeply $r, {
    hasMore => JSON::PP::false,
    resolved_date_range => { date_from => '2025-01-01T00:00:00Z', date_to => '2025-01-03T23:59:59.999999Z' },
    results => [
        { data => [3, 5, 1], labels => ['1-Jan-2025', '2-Jan-2025', '3-Jan-2025'],
          days => ['2025-01-01', '2025-01-02', '2025-01-03'], count => 9, label => '$pageview',
          filter => $filter, action => action(), order => 0 },
        { data => [2, 2, 1], labels => ['1-Jan-2025', '2-Jan-2025', '3-Jan-2025'],
          days => ['2025-01-01', '2025-01-02', '2025-01-03'], count => 5, label => '$pageleave',
          filter => $filter,
          action => action(id => '$pageleave', name => '$pageleave', order => 1, math => 'dau'),
          order => 1 },
    ],
}, 'worked example: both rows exactly';
is_deeply okeys($raw, 'results', 0),
    [qw(data labels days count label filter action order)], 'row key order';
is_deeply okeys($raw, 'results', 0, 'action'),
    [qw(days id type order name custom_name math math_property math_hogql
        math_group_type_index properties)], 'action key order';
is_deeply okeys($raw, 'results', 0, 'filter'),
    [qw(insight properties filter_test_accounts date_to date_from entity_type interval)],
    'filter key order';
like $raw, qr/"data":\[3,5,1\],/, 'count data are integers';
like $raw, qr/"count":9\.0,/, 'count is a float (9.0)';
like $raw, qr/"count":5\.0,/, 'second count 5.0';
is_deeply series_data($OTHER, $Q1, $NOW), [[0, 7, 0], [0, 0, 0]], 'the other team sees only its own events';

# no events at all: one all-zero row per series; custom_name shown, label kept
($r) = trends($T, tq(series => [ ev('nothing', custom_name => 'Nada') ], dateRange => { date_from => '-2d' }), $NOW);
is_deeply $r->{results}[0]{data}, [0, 0, 0], 'no events: zeros';
is $r->{results}[0]{label}, 'nothing', 'label is the event, not the custom name';
is $r->{results}[0]{action}{custom_name}, 'Nada', 'action.custom_name';
ok exists $r->{results}[0]{action}{math} && !defined $r->{results}[0]{action}{math},
    'no math: action.math null';

# all events (event null), InsightVizNode wrapper
($r) = trends($T, { kind => 'InsightVizNode', source => tq(series => [ ev(undef) ], dateRange => { date_from => '-2d' }) }, $NOW);
is_deeply $r->{results}[0]{data}, [6, 7, 2], 'all events of the team';
is $r->{results}[0]{label}, 'All events', 'label All events';
is $r->{results}[0]{action}{name}, 'All events', 'action.name All events';
ok exists $r->{results}[0]{action}{id} && !defined $r->{results}[0]{action}{id}, 'all events: action.id null';

# ---------------------------------------------------------------------------
# 2. dau through posthog_persondistinctid: one person with two distinct ids
#    counts once; an unmapped distinct id counts as its own person

{
    my $P2 = project(name => 'Persons');
    person($P2, { email => 'a@x.com' }, 'anon-1', 'user-1');
    person($P2, { email => 'b@x.com' }, 'user-2');
    events($P2,
        ['login', 'anon-1', '2025-01-02T08:00:00Z'],
        ['login', 'user-1', '2025-01-02T09:00:00Z'],      # same person
        ['login', 'user-2', '2025-01-02T09:00:00Z'],
        ['login', 'ghost', '2025-01-02T10:00:00Z'],        # unmapped
        ['login', 'ghost', '2025-01-03T10:00:00Z'],
        ['login', 'user-1', '2025-01-03T10:00:00Z'],
        ['login', 'anon-1', '2025-01-03T11:00:00Z'],
    );
    is_deeply series_data($P2, tq(series => [ ev('login', math => 'dau'), ev('login') ],
                                  dateRange => { date_from => '-2d' }), $NOW),
        [[0, 3, 2], [0, 4, 3]], 'dau counts persons, unmapped distinct ids as their own';
}

# ---------------------------------------------------------------------------
# 3. team timezone America/New_York: buckets, labels and bounds are local

{
    my $NY = project(name => 'NY', timezone => 'America/New_York');
    events($NY,
        ['e', 'u', '2025-01-01T04:59:59Z'],    # 31 Dec 23:59:59 local: out
        ['e', 'u', '2025-01-01T05:00:00Z'],    # 1 Jan 00:00 local
        ['e', 'u', '2025-01-02T03:00:00Z'],    # 1 Jan 22:00 local
        ['e', 'u', '2025-01-02T06:00:00Z'],    # 2 Jan 01:00 local
        ['e', 'u', '2025-01-04T04:30:00Z'],    # 3 Jan 23:30 local: today
        ['e', 'u', '2025-01-04T05:00:00Z'],    # 4 Jan local: out
    );
    my ($r, $raw) = trends($NY, tq(series => [ ev('e') ], dateRange => { date_from => '-2d' }), $NOW);
    my $row = $r->{results}[0];
    is_deeply $row->{data}, [2, 1, 1], 'NY: events bucketed by local day';
    is_deeply $row->{labels}, ['1-Jan-2025', '2-Jan-2025', '3-Jan-2025'], 'NY: labels';
    is_deeply $row->{action}{days},
        ['2025-01-01T00:00:00-05:00', '2025-01-02T00:00:00-05:00', '2025-01-03T00:00:00-05:00'],
        'NY: action.days carry the offset';
    is $row->{filter}{date_from}, '2025-01-01T00:00:00-05:00', 'NY: filter date_from';
    is $row->{filter}{date_to}, '2025-01-03T23:59:59.999999-05:00', 'NY: filter date_to';
    is_deeply $r->{resolved_date_range},
        { date_from => '2025-01-01T00:00:00-05:00', date_to => '2025-01-03T23:59:59.999999-05:00' },
        'NY: resolved_date_range';
    # at 02:00 UTC on 3 Jan it is still 2 Jan in New York
    ($r) = trends($NY, tq(series => [ ev('e') ], dateRange => { date_from => 'dStart' }), '2025-01-03T02:00:00Z');
    is_deeply $r->{results}[0]{days}, ['2025-01-02'], 'NY: dStart is the local today';
    is_deeply $r->{results}[0]{data}, [1], 'NY: dStart counts the local day';
    # hour buckets in local time
    ($r) = trends($NY, tq(series => [ ev('e') ], interval => 'hour', dateRange => { date_from => '-1h' }),
                  '2025-01-02T06:30:00Z');
    is_deeply $r->{results}[0]{labels}, ['2-Jan 00:00', '2-Jan 01:00'], 'NY: hour labels local';
    is_deeply $r->{results}[0]{days}, ['2025-01-02 00:00:00', '2025-01-02 01:00:00'], 'NY: hour days';
    is_deeply $r->{results}[0]{data}, [0, 1], 'NY: hour data';
}

# orjson's datetimes: offset with minutes, microseconds only when not zero
is $t->sql_value(q{SELECT ngx_dashboards_trends_iso('2025-01-01 00:00', 'Asia/Kolkata')}),
    '2025-01-01T00:00:00+05:30', 'offset +05:30';
is $t->sql_value(q{SELECT ngx_dashboards_trends_iso('2025-07-01 00:00:00.5', 'America/New_York')}),
    '2025-07-01T00:00:00.500000-04:00', 'summer time offset, microseconds';

# ---------------------------------------------------------------------------
# 4. weeks: Sunday and Monday starts, labels clipped to the range, EN DASH

{
    my $SUN = project(name => 'Sunday');
    my $MON = project(name => 'Monday', week_start_day => 1);
    for my $team ($SUN, $MON) {
        events($team,
            ['w', 'u', '2024-12-31T10:00:00Z'],    # Tuesday before date_from: out
            ['w', 'u', '2025-01-01T10:00:00Z'],    # Wednesday
            ['w', 'u', '2025-01-05T10:00:00Z'],    # Sunday
            ['w', 'u', '2025-01-06T10:00:00Z'],    # Monday
            ['w', 'u', '2025-01-15T10:00:00Z'],    # Wednesday
        );
    }
    my $q = tq(series => [ ev('w') ], interval => 'week', dateRange => { date_from => '-14d' });
    my $now = '2025-01-15T12:00:00Z';
    my ($r) = trends($SUN, $q, $now);
    my $row = $r->{results}[0];
    is_deeply $row->{days}, ['2024-12-29', '2025-01-05', '2025-01-12'], 'Sunday weeks: days';
    is_deeply $row->{labels}, ["1\x{2013}4 Jan", "5\x{2013}11 Jan", "12\x{2013}15 Jan"], 'Sunday weeks: labels';
    is_deeply $row->{data}, [1, 2, 1], 'Sunday weeks: data';
    ($r) = trends($MON, $q, $now);
    $row = $r->{results}[0];
    is_deeply $row->{days}, ['2024-12-30', '2025-01-06', '2025-01-13'], 'Monday weeks: days';
    is_deeply $row->{labels}, ["1\x{2013}5 Jan", "6\x{2013}12 Jan", "13\x{2013}15 Jan"], 'Monday weeks: labels';
    is_deeply $row->{data}, [2, 1, 1], 'Monday weeks: data';

    # across a year and across months; one-day clip
    ($r) = trends($SUN, tq(series => [ ev('w') ], interval => 'week',
                          dateRange => { date_from => '2024-12-28', date_to => '2025-01-10' }), $now);
    is_deeply $r->{results}[0]{labels},
        ['28-Dec-2024', "29-Dec-2024 \x{2013} 4-Jan-2025", "5\x{2013}10 Jan"], 'week labels across a year';
    is_deeply $r->{results}[0]{data}, [0, 2, 2], 'absolute range, weeks';
    ($r) = trends($MON, tq(series => [ ev('w') ], interval => 'week',
                          dateRange => { date_from => '2025-01-27', date_to => '2025-02-03' }), $now);
    is_deeply $r->{results}[0]{labels}, ["27-Jan \x{2013} 2-Feb", '3-Feb-2025'], 'week labels across months';
}

# ---------------------------------------------------------------------------
# 5. relative date forms, hour and month intervals, the current partial
#    interval, explicitDate, "all"

{
    my $D = project(name => 'Dates');
    events($D,
        ['h', 'u', '2024-10-31T23:00:00Z'],
        ['h', 'u', '2024-11-02T10:00:00Z'],
        ['h', 'u', '2024-12-15T10:00:00Z'],
        ['h', 'u', '2025-01-01T00:00:00Z'],
        ['h', 'u', '2025-01-03T07:59:59Z'],
        ['h', 'u', '2025-01-03T08:00:00Z'],
        ['h', 'u', '2025-01-03T10:45:00Z'],
        ['h', 'u', '2025-01-03T11:00:00Z'],
    );
    my $now = '2025-01-03T10:30:00Z';
    my ($r) = trends($D, tq(series => [ ev('h') ], interval => 'hour', dateRange => { date_from => '-2h' }), $now);
    my $row = $r->{results}[0];
    is_deeply $row->{days}, ['2025-01-03 08:00:00', '2025-01-03 09:00:00', '2025-01-03 10:00:00'],
        '-2h: the hour 2 h ago (truncated) to the current hour';
    is_deeply $row->{labels}, ['3-Jan 08:00', '3-Jan 09:00', '3-Jan 10:00'], 'hour labels';
    is_deeply $row->{data}, [1, 0, 1], 'hour data';
    is $row->{filter}{date_to}, '2025-01-03T10:59:59.999999Z', 'hour: date_to end of the hour';
    is scalar @{ series_data($D, tq(series => [ ev('h') ], interval => 'hour',
                                    dateRange => { date_from => '-24h' }), $now)->[0] }, 25, '-24h: 25 buckets';

    # -2m: 3 Nov; month buckets start at the start of November (events of 2 Nov count)
    ($r) = trends($D, tq(series => [ ev('h') ], interval => 'month', dateRange => { date_from => '-2m' }), $now);
    $row = $r->{results}[0];
    is_deeply $row->{labels}, ['Nov 2024', 'Dec 2024', 'Jan 2025'], 'month labels';
    is_deeply $row->{days}, ['2024-11-01', '2024-12-01', '2025-01-01'], 'month days';
    is_deeply $row->{data}, [1, 1, 5], 'month data from the start of the first month';
    is $row->{filter}{date_from}, '2024-11-03T00:00:00Z', 'month: date_from as resolved';

    is_deeply series_data($D, tq(series => [ ev('h') ], dateRange => { date_from => 'dStart' }), $now),
        [[4]], 'dStart: today only';
    ($r) = trends($D, tq(series => [ ev('h') ], dateRange => { date_from => 'mStart' }), $now);
    is_deeply $r->{results}[0]{days}, ['2025-01-01', '2025-01-02', '2025-01-03'], 'mStart: the month so far';
    ($r) = trends($D, tq(series => [ ev('h') ], interval => 'month', dateRange => { date_from => 'yStart' }), $now);
    is_deeply $r->{results}[0]{days}, ['2025-01-01'], 'yStart';
    ($r) = trends($D, tq(series => [ ev('h') ], dateRange => { date_from => '-1w' }), $now);
    is scalar @{ $r->{results}[0]{days} }, 8, '-1w: 8 day buckets';
    ($r) = trends($D, tq(series => [ ev('h') ], interval => 'month', dateRange => { date_from => '-1y' }), $now);
    is $r->{results}[0]{days}[0], '2024-01-01', '-1y';
    # missing date_from: 7 days ago
    ($r) = trends($D, tq(series => [ ev('h') ]), $now);
    is $r->{results}[0]{days}[0], '2024-12-27', 'no dateRange: -7d';
    is scalar @{ $r->{results}[0]{days} }, 8, 'no dateRange: 8 buckets';
    # date_to relative
    ($r) = trends($D, tq(series => [ ev('h') ], dateRange => { date_from => '-3d', date_to => '-1d' }), $now);
    is_deeply $r->{results}[0]{days}, ['2024-12-31', '2025-01-01', '2025-01-02'], 'date_to -1d';
    is $r->{results}[0]{filter}{date_to}, '2025-01-02T23:59:59.999999Z', 'date_to -1d: end of that day';
    # explicitDate: bounds used as given, not widened
    ($r) = trends($D, tq(series => [ ev('h') ], dateRange => { date_from => '2025-01-03T08:00:00Z',
                          date_to => '2025-01-03T10:50:00Z', explicitDate => JSON::PP::true }), $now);
    is_deeply $r->{results}[0]{data}, [2], 'explicitDate: exact bounds';
    is $r->{results}[0]{filter}{date_to}, '2025-01-03T10:50:00Z', 'explicitDate: date_to kept';
    # all: from the earliest event
    ($r) = trends($D, tq(series => [ ev('h') ], interval => 'month', dateRange => { date_from => 'all' }), $now);
    is_deeply $r->{results}[0]{days}, ['2024-10-01', '2024-11-01', '2024-12-01', '2025-01-01'], 'all: earliest event';
    is_deeply $r->{results}[0]{data}, [1, 1, 1, 5], 'all: data';
}

# ---------------------------------------------------------------------------
# 6. breakdown by an event property: limit, other and null markers, order,
#    labels with one and with several series; breakdown by a person property

my $NULLM = '$$_posthog_breakdown_null_$$';
my $OTHERM = '$$_posthog_breakdown_other_$$';
{
    my $B = project(name => 'Breakdown');
    person($B, { plan => 'pro' }, 'p1');
    events($B,
        (map { ['pv', 'p1', '2025-01-03T01:00:00Z', { '$browser' => 'Chrome' }] } 1 .. 3),
        ['pv', 'x', '2025-01-02T01:00:00Z', { '$browser' => 'Chrome' }],
        (map { ['pv', 'x', '2025-01-03T02:00:00Z', { '$browser' => 'Safari' }] } 1 .. 2),
        (map { ['pv', 'x', '2025-01-02T02:00:00Z', { '$browser' => 'Firefox' }] } 1 .. 2),
        ['pv', 'x', '2025-01-03T03:00:00Z', {}],
        ['pv', 'x', '2025-01-03T03:00:00Z', { '$browser' => '' }],
        ['pv', 'x', '2025-01-03T03:00:00Z', { '$browser' => undef }],
        ['other', 'x', '2025-01-03T03:00:00Z', { '$browser' => 'Opera' }],
    );
    my $q = tq(series => [ ev('pv') ], dateRange => { date_from => '-1d' },
               breakdownFilter => { breakdown => '$browser' });
    my ($r, $raw) = trends($B, $q, $NOW);
    is_deeply [ map { [$_->{breakdown_value}, $_->{label}, $_->{data}] } @{ $r->{results} } ],
        [ ['Chrome', 'Chrome', [1, 3]], ['Firefox', 'Firefox', [2, 0]], ['Safari', 'Safari', [0, 2]],
          [$NULLM, $NULLM, [0, 3]] ],
        'breakdown: by total, ties by value, the null marker last';
    ok !$r->{hasMore}, 'breakdown: no other, hasMore false';
    is_deeply okeys($raw, 'results', 0),
        [qw(data labels days count label filter action breakdown_value order)], 'breakdown row key order';
    is $r->{results}[0]{filter}{breakdown}, '$browser', 'filter has the breakdown';
    is $r->{results}[0]{filter}{breakdown_type}, 'event', 'filter breakdown_type default';

    # limit 2: Chrome (4), then the tie Firefox/Safari (2) by value; the rest
    # (Safari and the null marker, ranked after every value) is "other"
    $q->{breakdownFilter}{breakdown_limit} = 2;
    ($r) = trends($B, $q, $NOW);
    is_deeply [ map { [$_->{breakdown_value}, $_->{data}] } @{ $r->{results} } ],
        [ ['Chrome', [1, 3]], ['Firefox', [2, 0]], [$OTHERM, [0, 5]] ], 'breakdown_limit 2: other';
    ok $r->{hasMore}, 'other: hasMore true';
    $q->{breakdownFilter}{breakdown_hide_other_aggregation} = JSON::PP::true;
    ($r) = trends($B, $q, $NOW);
    is_deeply [ map { $_->{breakdown_value} } @{ $r->{results} } ], ['Chrome', 'Firefox'],
        'breakdown_hide_other_aggregation drops other';
    ok $r->{hasMore}, 'hidden other: hasMore still true';

    # two series: "<series> - <value>"; a series without events has no rows
    ($r) = trends($B, tq(series => [ ev('pv'), ev('other'), ev('none') ], dateRange => { date_from => '-1d' },
                         breakdownFilter => { breakdown => '$browser', breakdown_limit => 1 }), $NOW);
    is_deeply [ map { [$_->{label}, $_->{order}] } @{ $r->{results} } ],
        [ ['pv - Chrome', 0], ["pv - $OTHERM", 0], ['other - Opera', 1] ], 'several series: labels';

    # by a person property (unmapped distinct ids: no person, null marker)
    ($r) = trends($B, tq(series => [ ev('pv') ], dateRange => { date_from => '-1d' },
                         breakdownFilter => { breakdown => 'plan', breakdown_type => 'person' }), $NOW);
    is_deeply [ map { [$_->{breakdown_value}, $_->{data}] } @{ $r->{results} } ],
        [ ['pro', [0, 3]], [$NULLM, [3, 5]] ], 'person property breakdown';

    # total value (pie): one aggregate per value, ranked by total, null
    # ranked like a value
    ($r, $raw) = trends($B, tq(series => [ ev('pv') ], dateRange => { date_from => '-1d' },
                               trendsFilter => { display => 'ActionsPie' },
                               breakdownFilter => { breakdown => '$browser', breakdown_limit => 2 }), $NOW);
    is_deeply [ map { [$_->{breakdown_value}, $_->{aggregated_value}] } @{ $r->{results} } ],
        [ ['Chrome', 4], [$NULLM, 3], [$OTHERM, 4] ], 'total value breakdown: null ranked, other summed';
    is_deeply okeys($raw, 'results', 0),
        [qw(data days count aggregated_value label filter action breakdown_value order)],
        'total value breakdown key order';
}

# ---------------------------------------------------------------------------
# 7. compare with the previous period

{
    my $C = project(name => 'Compare');
    events($C,
        ['c', 'u', '2024-12-19T12:00:00Z'],
        ['c', 'u', '2024-12-20T12:00:00Z'],
        ['c', 'u', '2024-12-27T12:00:00Z'],
        ['c', 'u', '2024-12-29T12:00:00Z'],
        ['c', 'u', '2024-12-31T12:00:00Z'],
        ['c', 'u', '2025-01-01T12:00:00Z'],
        ['c', 'u', '2025-01-03T12:00:00Z'],
    );
    my ($r, $raw) = trends($C, tq(series => [ ev('c') ], dateRange => { date_from => '-2d' },
                                  compareFilter => { compare => JSON::PP::true }), $NOW);
    my ($cur, $prev) = @{ $r->{results} };
    is_deeply [ $cur->{compare}, $cur->{compare_label}, $prev->{compare_label} ],
        [ JSON::PP::true, 'current', 'previous' ], 'compare: current then previous';
    is_deeply $cur->{data}, [1, 0, 1], 'compare: current data';
    is_deeply $prev->{days}, ['2024-12-29', '2024-12-30', '2024-12-31'], 'compare -2d: previous days';
    is_deeply $prev->{labels}, ['29-Dec-2024', '30-Dec-2024', '31-Dec-2024'], 'compare: previous labels';
    is_deeply $prev->{action}{days},
        ['2024-12-29T00:00:00Z', '2024-12-30T00:00:00Z', '2024-12-31T00:00:00Z'], 'compare: previous action.days';
    is_deeply $prev->{data}, [1, 0, 1], 'compare: previous data';
    is_deeply okeys($raw, 'results', 1),
        [qw(data labels days count label filter action compare compare_label order)], 'compare key order';
    # -7d (whole weeks, day interval): the previous period starts a day later
    ($r) = trends($C, tq(series => [ ev('c') ], dateRange => { date_from => '-7d' },
                         compareFilter => { compare => JSON::PP::true }), $NOW);
    ($cur, $prev) = @{ $r->{results} };
    is $cur->{days}[0], '2024-12-27', 'compare -7d: current from 27 Dec';
    is_deeply [ $prev->{days}[0], $prev->{days}[-1], scalar @{ $prev->{days} } ],
        ['2024-12-20', '2024-12-27', 8], 'compare -7d: previous 20..27 Dec';
    is_deeply $prev->{data}, [1, 0, 0, 0, 0, 0, 0, 1], 'compare -7d: previous data';
}

# ---------------------------------------------------------------------------
# 8. formulas: A/B with division by zero, ints and floats, legacy formula

{
    my $F = project(name => 'Formula');
    events($F,
        (map { ['a', 'u', '2025-01-01T12:00:00Z'] } 1 .. 3),
        (map { ['b', 'u', '2025-01-01T12:00:00Z'] } 1 .. 2),
        ['a', 'u', '2025-01-02T12:00:00Z'],
        (map { ['a', 'u', '2025-01-03T12:00:00Z'] } 1 .. 4),
        (map { ['b', 'u', '2025-01-03T12:00:00Z'] } 1 .. 2),
    );
    my ($r, $raw) = trends($F, tq(series => [ ev('a'), ev('b') ], dateRange => { date_from => '-2d' },
                                  trendsFilter => { formulaNodes => [ { formula => 'A/B' },
                                                                      { formula => 'a + b*2', custom_name => 'Mix' } ] }),
                           $NOW);
    is scalar @{ $r->{results} }, 2, 'one row per formula';
    my ($f1, $f2) = @{ $r->{results} };
    is $f1->{label}, 'Formula (A/B)', 'formula label';
    ok !defined $f1->{action}, 'formula: action null';
    is $f1->{order}, 0, 'formula order';
    like $raw, qr/"data":\[1\.5,0,2\.0\]/, 'A/B: floats, division by zero gives 0';
    like $raw, qr/"count":3\.5,/, 'A/B: count';
    is $f2->{label}, 'Mix', 'custom_name labels the formula';
    is_deeply $f2->{data}, [7, 1, 8], 'a + b*2 (letters case-insensitive, precedence)';
    is $f2->{order}, 1, 'second formula order';
    is_deeply $f1->{days}, ['2025-01-01', '2025-01-02', '2025-01-03'], 'formula keeps the axis';
    # legacy trendsFilter.formula becomes formulaNodes
    ($r) = trends($F, tq(series => [ ev('a'), ev('b') ], dateRange => { date_from => '-2d' },
                         trendsFilter => { formula => '(A - B) * -2 ** 2' }), $NOW);
    is_deeply $r->{results}[0]{data}, [-4, -4, -8], 'Python precedence: -2 ** 2 = -4';
    is_deeply $r->{results}[0]{filter}{formulaNodes}, [ { formula => '(A - B) * -2 ** 2' } ],
        'legacy formula shown as formulaNodes';
    ok !exists $r->{results}[0]{filter}{formula}, 'formula key dropped from filter';
    # formula with compare: one row per period
    ($r) = trends($F, tq(series => [ ev('a'), ev('b') ], dateRange => { date_from => '-2d' },
                         compareFilter => { compare => JSON::PP::true },
                         trendsFilter => { formula => 'A+B' }), $NOW);
    is_deeply [ map { [$_->{compare_label}, $_->{data}] } @{ $r->{results} } ],
        [ ['current', [5, 1, 6]], ['previous', [0, 0, 0]] ], 'formula with compare';
    # formula with a breakdown: grouped by value, a missing series is 0,
    # sorted by total
    my $FB = project(name => 'Formula breakdown');
    events($FB,
        (map { ['a', 'u', '2025-01-03T01:00:00Z', { '$browser' => 'Chrome' }] } 1 .. 2),
        ['a', 'u', '2025-01-03T01:00:00Z', { '$browser' => 'Safari' }],
        ['b', 'u', '2025-01-03T01:00:00Z', { '$browser' => 'Chrome' }],
        (map { ['b', 'u', '2025-01-03T01:00:00Z', { '$browser' => 'Firefox' }] } 1 .. 2),
    );
    ($r) = trends($FB, tq(series => [ ev('a'), ev('b') ], dateRange => { date_from => 'dStart' },
                          breakdownFilter => { breakdown => '$browser' }, trendsFilter => { formula => 'A+B' }), $NOW);
    is_deeply [ map { [$_->{breakdown_value}, $_->{data}, $_->{label}] } @{ $r->{results} } ],
        [ ['Chrome', [3], 'Formula (A+B)'], ['Firefox', [2], 'Formula (A+B)'], ['Safari', [1], 'Formula (A+B)'] ],
        'formula with breakdown';
    # formula on a total-value display: aggregated_value is a float, data null
    (undef, $raw) = trends($FB, tq(series => [ ev('a'), ev('b') ], dateRange => { date_from => 'dStart' },
                                   trendsFilter => { display => 'ActionsTable', formula => 'A/B' }), $NOW);
    like $raw, qr/"data":null,"days":\[\],"count":0,"aggregated_value":1\.0,"label":"Formula \(A\/B\)"/,
        'formula on total value';
    refused($F, tq(series => [ ev('a') ], trendsFilter => { formula => 'A + C' }), $NOW,
            'The formula A + C uses C, which is not a series of this query.', 'formula: unknown letter');
    refused($F, tq(series => [ ev('a') ], trendsFilter => { formula => 'A; DROP TABLE x' }), $NOW,
            'Invalid formula: A; DROP TABLE x', 'formula: not arithmetic');
}

# ---------------------------------------------------------------------------
# 9. total value (BoldNumber: exact time range), cumulative, property maths,
#    weekly/monthly actives, unique sessions

{
    my $M = project(name => 'Maths');
    person($M, {}, 'm1', 'm1-alias');
    events($M,
        ['buy', 'm1', '2024-12-27T09:00:00Z', { revenue => 100 }],         # before now - 7d exactly
        ['buy', 'm1', '2024-12-27T10:00:00Z', { revenue => 10 }],
        ['buy', 'm1-alias', '2025-01-01T10:00:00Z', { revenue => 20.5, '$session_id' => 's1' }],
        ['buy', 'm2', '2025-01-01T11:00:00Z', { revenue => 'abc', '$session_id' => 's1' }],
        ['buy', 'm2', '2025-01-01T12:00:00Z', { '$session_id' => 's2' }],
        ['buy', 'm3', '2025-01-03T09:00:00Z', { revenue => '4', '$session_id' => '' }],
        ['buy', 'm3', '2025-01-03T11:00:00Z', { revenue => 1000 }],         # after now
    );
    my ($r, $raw) = trends($M, tq(series => [ ev('buy') ], dateRange => { date_from => '-7d' },
                                  trendsFilter => { display => 'BoldNumber' }), $NOW);
    my $row = $r->{results}[0];
    is $row->{aggregated_value}, 5, 'BoldNumber: exactly now - 7d .. now';
    is_deeply okeys($raw, 'results', 0),
        [qw(data days count aggregated_value label filter action order)], 'total value key order (no labels)';
    like $raw, qr/"data":\[\],"days":\[\],"count":0,"aggregated_value":5,/, 'total value: data [], days [], count 0';
    is scalar @{ $row->{action}{days} }, 8, 'total value: action.days = the day buckets';
    is $row->{filter}{date_from}, '2024-12-27T10:00:00Z', 'BoldNumber: date_from not truncated';
    is $row->{filter}{date_to}, '2025-01-03T10:00:00Z', 'BoldNumber: date_to = now';
    is $row->{filter}{display}, 'BoldNumber', 'filter shows the display';
    is $row->{filter}{smoothingIntervals}, 1, 'filter shows the TrendsFilter defaults';
    ($r) = trends($M, tq(series => [ ev('buy') ], dateRange => { date_from => '-7d' },
                         trendsFilter => { display => 'ActionsTable' }), $NOW);
    is $r->{results}[0]{aggregated_value}, 7, 'ActionsTable: whole days';
    ($r) = trends($M, tq(series => [ ev('nothing') ], trendsFilter => { display => 'ActionsPie' }), $NOW);
    is $r->{results}[0]{aggregated_value}, 0, 'total value without events: one row, 0';

    # cumulative: running sums, count = last value (an int)
    ($r, $raw) = trends($M, tq(series => [ ev('buy') ], dateRange => { date_from => '-2d' },
                               trendsFilter => { display => 'ActionsLineGraphCumulative' }), $NOW);
    like $raw, qr/"data":\[3,3,5\],"labels"/, 'cumulative data';
    like $raw, qr/"count":5,"label"/, 'cumulative count: the last value';

    # property maths: floats, non-numeric values ignored, empty buckets 0.0
    my %want = (sum => '[20.5,0.0,1004.0]', avg => '[20.5,0.0,502.0]', min => '[20.5,0.0,4.0]',
                max => '[20.5,0.0,1000.0]', median => '[20.5,0.0,502.0]', p75 => '[20.5,0.0,751.0]',
                p90 => '[20.5,0.0,900.4]', p95 => '[20.5,0.0,950.1999999999999]',
                p99 => '[20.5,0.0,990.04]');
    # p95: 4 + 0.95 * (1000 - 4), interpolated in doubles, prints so
    for my $m (sort keys %want) {
        (undef, $raw) = trends($M, tq(series => [ ev('buy', math => $m, math_property => 'revenue') ],
                                      dateRange => { date_from => '-2d' }), $NOW);
        my $d = quotemeta $want{$m};
        like $raw, qr/"data":$d,/, "math $m";
    }
    like $raw, qr/"count":1024\.5,/, 'property math count (sum, the last one run)';
    ($r) = trends($M, tq(series => [ ev('buy', math => 'unique_session') ], dateRange => { date_from => '-2d' }), $NOW);
    is_deeply $r->{results}[0]{data}, [2, 0, 1], 'unique_session ("" and missing count as one value)';
    refused($M, tq(series => [ ev('buy', math => 'sum') ]), $NOW,
            'The math "sum" needs a math_property.', 'property math without a property');
}

{
    my $A = project(name => 'Actives');
    person($A, {}, 'a4', 'a4b');
    events($A,
        ['x', 'a3', '2024-12-20T12:00:00Z'],     # too early for any window
        ['x', 'a1', '2024-12-26T12:00:00Z'],     # in the window of 1 Jan only
        ['x', 'a4', '2025-01-01T12:00:00Z'],
        ['x', 'a4b', '2025-01-02T12:00:00Z'],    # the same person
        ['x', 'a2', '2025-01-03T12:00:00Z'],
    );
    my $q = tq(series => [ ev('x', math => 'weekly_active'), ev('x', math => 'monthly_active') ],
               dateRange => { date_from => '-2d' });
    my ($r) = trends($A, $q, $NOW);
    is_deeply [ map { $_->{data} } @{ $r->{results} } ], [[2, 1, 2], [3, 3, 4]],
        'weekly/monthly actives: the 7 (30) days ending with each bucket';
    is $r->{results}[0]{action}{math}, 'weekly_active', 'day interval keeps weekly_active';
    $q->{interval} = 'week';
    ($r) = trends($A, $q, $NOW);
    is $r->{results}[0]{action}{math}, 'dau', 'week interval: weekly_active becomes dau';
    is $r->{results}[1]{action}{math}, 'monthly_active', 'week interval keeps monthly_active';
    $q->{interval} = 'month';
    ($r) = trends($A, $q, $NOW);
    is_deeply [ map { $_->{action}{math} } @{ $r->{results} } ], ['dau', 'dau'], 'month interval: both dau';
    # total value: actors of the last 7 days up to date_to
    ($r) = trends($A, tq(series => [ ev('x', math => 'weekly_active') ], dateRange => { date_from => '-2d' },
                         trendsFilter => { display => 'ActionsTable' }), $NOW);
    is $r->{results}[0]{aggregated_value}, 2, 'weekly_active total value';
}

# ---------------------------------------------------------------------------
# 10. property filters: every operator, with a missing property

{
    my $PF = project(name => 'Filters', test_account_filters =>
        [ { key => 'email', value => '@posthog.com', operator => 'not_icontains', type => 'person' } ]);
    person($PF, { email => 'me@posthog.com' }, 'staff');
    person($PF, { email => 'you@x.com' }, 'customer');
    events($PF,
        ['f', 'staff', '2025-01-03T01:00:00Z', { p => 'alpha' }],
        ['f', 'customer', '2025-01-03T01:00:00Z', { p => 'Beta' }],
        ['f', 'x', '2025-01-03T01:00:00Z', { p => 5 }],
        ['f', 'x', '2025-01-03T01:00:00Z', {}],
        ['f', 'x', '2025-01-03T01:00:00Z', { p => '' }],
        ['f', 'x', '2025-01-03T01:00:00Z', { p => undef }],
    );
    my $count = sub {
        my ($props, %o) = @_;
        my ($r) = trends($PF, tq(series => [ ev('f') ], dateRange => { date_from => 'dStart' },
                                 properties => $props, %o), $NOW);
        return $r->{results}[0]{data}[0];
    };
    my $p = sub { my ($op, $v) = @_; return [ { key => 'p', type => 'event', operator => $op,
                                                 defined $op ? () : (), value => $v } ] };
    my @cases = (
        [ 'exact', 'alpha', 1 ],
        [ 'exact', ['alpha', 'Beta'], 2 ],
        [ 'exact', [], 6 ],
        [ 'exact', 5, 1 ],
        [ 'is_not', 'alpha', 5 ],
        [ 'is_not', ['alpha', 'Beta'], 4 ],
        [ 'icontains', 'ETA', 1 ],
        [ 'icontains', ['alp', 'bet'], 2 ],
        [ 'not_icontains', 'a', 4 ],
        [ 'not_icontains', ['x', 'y'], 6 ],
        [ 'regex', '^[a-z]', 1 ],
        [ 'not_regex', '^[a-z]', 5 ],
        [ 'gt', 4, 1 ],
        [ 'gt', 5, 0 ],
        [ 'gte', '5', 1 ],
        [ 'lt', 10, 1 ],
        [ 'lte', 4, 0 ],
        [ 'is_set', undef, 3 ],
        [ 'is_not_set', undef, 3 ],
        [ 'in', ['alpha', 5], 2 ],
        [ 'not_in', ['alpha', 5], 4 ],
        [ 'not_in', ['alpha'], 5 ],
    );
    for my $c (@cases) {
        my ($op, $v, $want) = @$c;
        is $count->([ { key => 'p', type => 'event', operator => $op, value => $v } ]), $want,
            "operator $op " . $J->encode([$v]);
    }
    is $count->([ { key => 'p', value => 'alpha' } ]), 1, 'no operator: exact, no type: event';
    is $count->({ type => 'OR', values => [ { type => 'AND', values => [ { key => 'p', value => 'alpha' } ] },
                                            { type => 'AND', values => [ { key => 'p', value => 5 } ] } ] }),
        2, 'OR group';
    is $count->({ type => 'AND', values => [ { type => 'OR', values => [ { key => 'p', value => 'alpha' },
                                                                         { key => 'p', value => 'Beta' } ] },
                                             { key => 'p', operator => 'icontains', value => 'b' } ] }),
        1, 'AND of an OR group and a filter';
    is $count->([ { key => 'email', type => 'person', operator => 'icontains', value => '@x.com' } ]), 1,
        'person property filter';
    is $count->([ { key => 'email', type => 'person', operator => 'is_not_set' } ]), 4,
        'person property missing (no person)';
    # test accounts: the team's filters, only with filterTestAccounts
    is $count->([], filterTestAccounts => JSON::PP::true), 5, 'filterTestAccounts drops the staff person';
    is $count->([], filterTestAccounts => JSON::PP::false), 6, 'without filterTestAccounts: all';
    my ($r) = trends($PF, tq(series => [ ev('f', properties => [ { key => 'p', operator => 'is_set' } ]) ],
                             filterTestAccounts => JSON::PP::true, dateRange => { date_from => 'dStart' }), $NOW);
    is $r->{results}[0]{data}[0], 2, 'series properties AND test accounts';
    is $r->{results}[0]{filter}{filter_test_accounts}, JSON::PP::true, 'filter shows filter_test_accounts';

    refused($PF, tq(series => [ ev('f') ], properties => [ { key => 'p', operator => 'frobnicate', value => 1 } ]),
            $NOW, 'The property filter operator "frobnicate" is not supported here.', 'unknown operator');
    refused($PF, tq(series => [ ev('f') ], properties => [ { key => 1, type => 'cohort', value => 1 } ]),
            $NOW, 'Property filters of type "cohort" are not supported here.', 'cohort filter');
    refused($PF, tq(series => [ ev('f') ], properties => [ { key => 'p', operator => 'regex', value => '(' } ]),
            $NOW, qr/^Invalid regular expression/, 'invalid regex');
}

# ---------------------------------------------------------------------------
# 11. a property name full of quotes, %, and SQL is only ever a bound value

{
    my $Z = project(name => 'Quotes');
    my $key = q{it's "q" 100% _x_ ); DROP TABLE posthog_event; -- $1 \\};
    events($Z,
        ['z', 'u', '2025-01-03T01:00:00Z', { $key => 'v1', n => 1 }],
        ['z', 'u', '2025-01-03T01:00:00Z', { $key => 'v1' }],
        ['z', 'u', '2025-01-03T01:00:00Z', { $key => q{it's 50%} }],
        ['z', 'u', '2025-01-03T01:00:00Z', { other => 'v1' }],
    );
    my $base = sub { return (series => [ ev('z', @_) ], dateRange => { date_from => 'dStart' }) };
    my ($r) = trends($Z, tq($base->(), properties => [ { key => $key, value => 'v1' } ]), $NOW);
    is $r->{results}[0]{data}[0], 2, 'filter on the odd key';
    ($r) = trends($Z, tq($base->(), properties => [ { key => $key, operator => 'icontains', value => q{'s 50%} } ]), $NOW);
    is $r->{results}[0]{data}[0], 1, 'icontains with a quote and %';
    ($r) = trends($Z, tq($base->(), breakdownFilter => { breakdown => $key }), $NOW);
    is_deeply [ map { [$_->{breakdown_value}, $_->{data}[0]] } @{ $r->{results} } ],
        [ ['v1', 2], [q{it's 50%}, 1], [$NULLM, 1] ], 'breakdown on the odd key';
    ($r) = trends($Z, tq($base->(math => 'sum', math_property => $key)), $NOW);
    is $r->{results}[0]{data}[0], 0, 'math over the odd key (no numbers)';
    ($r) = trends($Z, tq(series => [ ev(q{z'; SELECT 1; --}) ], dateRange => { date_from => 'dStart' }), $NOW);
    is $r->{results}[0]{data}[0], 0, 'an odd event name';
    is $t->sql_value('SELECT count(*) FROM posthog_event WHERE team_id = $1', $Z), 4, 'events still there';
}

# ---------------------------------------------------------------------------
# 12. refusals: other kinds, unknown maths, too many buckets

refused($T, { kind => 'FunnelsQuery', series => [] }, $NOW,
        'Query kind "FunnelsQuery" is not supported here: only TrendsQuery insights are computed.', 'FunnelsQuery');
refused($T, { kind => 'InsightVizNode', source => { kind => 'HogQLQuery', query => 'select 1' } }, $NOW,
        'Query kind "HogQLQuery" is not supported here: only TrendsQuery insights are computed.', 'HogQL in a viz node');
refused($T, tq(series => [ ev('e', math => 'hogql') ]), $NOW,
        'The math "hogql" is not supported here.', 'hogql math');
refused($T, tq(series => [ ev('e', math => 'nonsense') ]), $NOW,
        'The math "nonsense" is not supported here.', 'unknown math');
refused($T, tq(series => [ { kind => 'DataWarehouseNode', table_name => 't' } ]), $NOW,
        'Series of kind "DataWarehouseNode" are not supported here.', 'DataWarehouseNode');
refused($T, tq(series => []), $NOW, 'A TrendsQuery needs at least one series.', 'no series');
refused($T, tq(series => [ ev('e') ], interval => 'fortnight'), $NOW, 'Unknown interval "fortnight".', 'interval');
refused($T, tq(series => [ ev('e') ], interval => 'hour', dateRange => { date_from => '-10y' }), $NOW,
        'The date range has too many hour intervals (more than 10000): choose a larger interval or a shorter range.',
        '10 years at hour interval');
refused($T, tq(series => [ ev('e') ], dateRange => { date_from => '2025-02-30' }), $NOW,
        'Invalid date: 2025-02-30', 'invalid date');
refused($T, tq(series => [ ev('e') ], dateRange => { date_from => '-999999y' }), $NOW,
        'Invalid date: -999999y', 'a date out of range');
refused($T, tq(series => [ ev('e') ], breakdownFilter => { breakdown => 'p', breakdown_limit => 1e20 }), $NOW,
        'breakdown_limit must be between 1 and 10000.', 'breakdown_limit out of range');
refused($T, tq(series => [ ev('e') ], trendsFilter => { formula => 'A * 1' . ('0' x 40) }), $NOW,
        'Invalid formula: A * 1' . ('0' x 40), 'a formula number too long');
{
    # a range that ends before it starts: empty rows, no error
    my ($r) = trends($T, tq(series => [ ev('$pageview') ], dateRange => { date_from => '-1d', date_to => '-3d' }), $NOW);
    is_deeply [ $r->{results}[0]{data}, $r->{results}[0]{labels} ], [ [], [] ], 'date_to before date_from: empty';
    # numbers beyond float8 in a property are not numbers
    my $BIG = project(name => 'Big numbers');
    events($BIG, ['n', 'u', '2025-01-03T01:00:00Z', { v => '1e999' }], ['n', 'u', '2025-01-03T01:00:00Z', { v => '9' x 400 }],
                 ['n', 'u', '2025-01-03T01:00:00Z', { v => 2 }]);
    ($r) = trends($BIG, tq(series => [ ev('n', math => 'sum', math_property => 'v') ],
                           dateRange => { date_from => 'dStart' }), $NOW);
    is_deeply $r->{results}[0]{data}, [2], 'huge numbers in properties are ignored, not an error';
    ($r) = trends($BIG, tq(series => [ ev('n') ], dateRange => { date_from => 'dStart' },
                           properties => [ { key => 'v', operator => 'gt', value => '1e999' } ]), $NOW);
    is_deeply $r->{results}[0]{data}, [0], 'a huge filter value matches nothing';
}
is scalar @{ series_data($T, tq(series => [ ev('e') ], interval => 'hour',
                                dateRange => { date_from => '-400d' }), $NOW)->[0] }, 400 * 24 + 11,
    '400 days at hour interval: 9,611 buckets are fine';

# ---------------------------------------------------------------------------
# 13. ActionsNode: steps with event names, URLs and properties

{
    my $AC = project(name => 'Actions');
    my $act = $t->insert(posthog_action => { team_id => $AC, name => 'Pricing or pro sign-up',
        steps_json => \ q{'[{"event": "$pageview", "url": "/pricing", "url_matching": "contains"},
                            {"event": "signed_up", "properties": [{"key": "plan", "value": "pro", "type": "event"}]},
                            {"event": "$pageview", "url": "^https://x.com/a$", "url_matching": "regex"}]'::jsonb} });
    my $foreign = $t->insert(posthog_action => { team_id => $T, name => 'Not yours', steps_json => \ q{'[]'::jsonb} });
    events($AC,
        ['$pageview', 'u', '2025-01-03T01:00:00Z', { '$current_url' => 'https://x.com/pricing?a=1' }],
        ['$pageview', 'u', '2025-01-03T01:00:00Z', { '$current_url' => 'https://x.com/PRICING' }],
        ['$pageview', 'u', '2025-01-03T01:00:00Z', { '$current_url' => 'https://x.com/a' }],
        ['$pageview', 'u', '2025-01-03T01:00:00Z', { '$current_url' => 'https://x.com/ab' }],
        ['signed_up', 'u', '2025-01-03T01:00:00Z', { plan => 'pro' }],
        ['signed_up', 'u', '2025-01-03T01:00:00Z', { plan => 'free' }],
    );
    my ($r) = trends($AC, tq(series => [ { kind => 'ActionsNode', id => $act->{id} }, ev('signed_up') ],
                             dateRange => { date_from => 'dStart' }), $NOW);
    is_deeply [ map { [$_->{label}, $_->{action}{id}, $_->{data}[0], $_->{order}] } @{ $r->{results} } ],
        [ ['Pricing or pro sign-up', 'Pricing or pro sign-up', 3, 0], ['signed_up', 'signed_up', 2, 1] ],
        'action: OR of steps; label and id are the name';
    ($r) = trends($AC, tq(series => [ { kind => 'ActionsNode', id => $foreign->{id} }, ev('signed_up') ],
                          dateRange => { date_from => 'dStart' }), $NOW);
    is_deeply [ map { $_->{label} } @{ $r->{results} } ], ['signed_up'],
        "another team's action: its row is dropped";
}

# ---------------------------------------------------------------------------
# 14. cache key, staleness, refresh frequency

{
    my $key = sub { $t->sql_value('SELECT ngx_dashboards_trends_cache_key($1, $2::jsonb)', @_) };
    my $q = tq(series => [ ev('$pageview', custom_name => 'Views') ], dateRange => { date_from => '-7d' });
    my $k = $key->($T, $q);
    like $k, qr/^cache_[0-9a-f]{32}$/, 'cache key: cache_<md5 hex>';
    is $key->($T, tq(series => [ ev('$pageview') ], dateRange => { date_from => '-7d' })), $k,
        'custom_name is not part of the key';
    is $key->($T, { kind => 'InsightVizNode', source => $q }), $k, 'the InsightVizNode wrapper is not';
    is $key->($T, { %$q, tags => { productKey => 'x' } }), $k, 'tags are not';
    isnt $key->($T, tq(series => [ ev('$pageview') ], dateRange => { date_from => '-14d' })), $k,
        'the query is';
    isnt $key->($OTHER, $q), $k, 'the team is';
    my $KT = project(name => 'Keys');
    my $k2 = $key->($KT, $q);
    $t->sql(q{UPDATE posthog_team SET timezone = 'Europe/Paris' WHERE id = $1}, $KT);
    my $k3 = $key->($KT, $q);
    isnt $k3, $k2, 'the timezone is';
    $t->sql(q{UPDATE posthog_team SET week_start_day = 1 WHERE id = $1}, $KT);
    isnt $key->($KT, $q), $k3, 'the week start is';

    my $age = sub { $t->sql_value(q{SELECT to_char(ngx_dashboards_trends_target_age($1, '2025-01-03T10:00:00Z', $2)
                                                    AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI')}, @_) };
    is $age->('minute', 0), '2025-01-03 10:05', 'target age minute';
    is $age->('minute', 1), '2025-01-03 10:15', 'target age minute, lazy';
    is $age->('hour', 0), '2025-01-03 11:00', 'target age hour';
    is $age->('hour', 1), '2025-01-03 12:00', 'target age hour, lazy';
    is $age->('day', 0), '2025-01-03 16:00', 'target age day';
    is $age->('day', 1), '2025-01-03 22:00', 'target age day, lazy';
    is $age->('week', 0), '2025-01-04 10:00', 'target age week';
    is $age->('month', 1), '2025-01-05 10:00', 'target age month';
    is $age->(undef, 0), '2025-01-03 16:00', 'target age without interval';
    my $stale = sub { $t->sql_value('SELECT ngx_dashboards_trends_is_stale($1, $2, $3, $4)', @_) };
    is $stale->('2025-01-03T23:59:59Z', '2025-01-03T10:00:00Z', '2025-01-03T16:00:00Z', '2025-01-03T16:00:01Z'),
        't', 'stale past the target age';
    is $stale->('2025-01-03T23:59:59Z', '2025-01-03T10:00:00Z', '2025-01-03T16:00:00Z', '2025-01-03T15:59:59Z'),
        'f', 'fresh before it';
    is $stale->('2025-01-02T23:59:59Z', '2025-01-03T10:00:00Z', '2025-01-03T16:00:00Z', '2025-01-05T00:00:00Z'),
        'f', 'a range that ended before the computation never goes stale';
    my $freq = sub { $t->sql_value(q{SELECT ngx_dashboards_trends_refresh_frequency(
                                         ngx_dashboards_trends_plan($1, $2::jsonb, $3))::text}, $T, @_, $NOW) };
    is $freq->(tq(series => [ ev('e') ], dateRange => { date_from => '-30d' })), '00:15:00', 'refresh frequency 15 min';
    is $freq->(tq(series => [ ev('e') ], dateRange => { date_from => '-6d' })), '00:03:00', 'a week or less: 3 min';
    is $freq->(tq(series => [ ev('e') ], interval => 'hour', dateRange => { date_from => '-30d' })), '00:03:00',
        'hour interval: 3 min';
    is $freq->(tq(series => [ ev('e') ], interval => 'minute', dateRange => { date_from => '-1h' })), '00:01:00',
        'minute interval: 1 min';
}

# ---------------------------------------------------------------------------
# 15. dashboard filters and tile overrides merged into the query

{
    # (wrapped in {v => ...} so that undef and lists reach SQL as JSON)
    my $apply = sub {
        my ($q, $d, $tile) = @_;
        return $J->decode($t->sql_value(q{SELECT ngx_dashboards_apply_dashboard_filters($1::jsonb,
                                              ($2::jsonb)->'v', ($3::jsonb)->'v')}, $q, { v => $d }, { v => $tile }));
    };
    my $pa = { key => 'a', value => 'x', operator => 'exact', type => 'event' };
    my $pb = { key => 'b', value => 'y', operator => 'exact', type => 'event' };
    my $pa2 = { %$pa, value => 'z' };
    my $q = tq(series => [ ev('e') ], properties => [ $pa ],
               dateRange => { date_from => '-7d', date_to => '-1d' },
               compareFilter => { compare => JSON::PP::true });

    is_deeply $apply->($q, {}, {}), $q, 'no filters: the query as it is';
    is_deeply $apply->($q, { __template_version => 1, foo => 'bar' }, undef), $q, 'unknown keys ignored';
    my $r = $apply->($q, { properties => [ $pb ] }, {});
    is_deeply $r->{properties}, { type => 'AND', values => [ { type => 'AND', values => [ $pa ] },
                                                             { type => 'AND', values => [ $pb ] } ] },
        'dashboard properties AND-ed with the query\'s';
    $r = $apply->(tq(series => [ ev('e') ]), { properties => [ $pb ] }, {});
    is_deeply $r->{properties}, [ $pb ], 'query without properties: the dashboard\'s';
    $r = $apply->($q, { properties => [ $pa2 ] }, {});
    is_deeply $r->{properties}, [ $pa2 ], 'the query\'s contradicted property is dropped';
    $r = $apply->($q, { date_from => '-30d' }, {});
    is_deeply $r->{dateRange}, { date_from => '-30d', date_to => undef }, 'date_from replaces both bounds';
    $r = $apply->($q, { date_to => '2025-01-01' }, {});
    is_deeply $r->{dateRange}, { date_from => undef, date_to => '2025-01-01' }, 'date_to replaces both bounds';
    $r = $apply->($q, { date_from => 'all' }, {});
    is $r->{compareFilter}{compare}, JSON::PP::false, 'date_from all turns compare off';
    $r = $apply->($q, { breakdown_filter => { breakdown => '$browser' }, interval => 'week',
                        filterTestAccounts => JSON::PP::true }, {});
    is_deeply [ $r->{breakdownFilter}, $r->{interval}, $r->{filterTestAccounts} ],
        [ { breakdown => '$browser' }, 'week', JSON::PP::true ], 'breakdown_filter, interval, filterTestAccounts';
    my $viz = $apply->({ kind => 'InsightVizNode', source => $q }, { interval => 'month' }, {});
    is $viz->{kind}, 'InsightVizNode', 'wrapper kept';
    is $viz->{source}{interval}, 'month', 'applied to the source';

    # tile overrides: its dates win (both bounds), its properties stack
    # after the dashboard's, dropping the dashboard's they contradict
    $r = $apply->(tq(series => [ ev('e') ]),
                  { date_from => '-30d', date_to => '-1d', properties => [ $pa, $pb ], interval => 'day' },
                  { date_from => '-7d', properties => [ $pa2 ], interval => 'hour' });
    is_deeply $r->{dateRange}, { date_from => '-7d', date_to => undef }, 'tile dates win';
    is_deeply $r->{properties}, [ $pb, $pa2 ], 'tile properties stack, contradicted dashboard ones dropped';
    is $r->{interval}, 'hour', 'tile interval wins';
    $r = $apply->(tq(series => [ ev('e') ]), { date_from => '-30d' }, { interval => 'week' });
    is_deeply $r->{dateRange}, { date_from => '-30d', date_to => undef }, 'no tile dates: the dashboard\'s';

    # end to end: the merged query computes
    my ($res) = trends($T, $apply->(tq(series => [ ev('$pageview') ], dateRange => { date_from => '-7d' }),
                                   { date_from => '-2d' }, {}), $NOW);
    is_deeply $res->{results}[0]{data}, [3, 5, 1], 'merged query computes';
}

# ---------------------------------------------------------------------------
# 16. the stages on their own: the plan is store-neutral JSON, the PostgreSQL
#     store returns the raw aggregates the formatter reads

{
    my $plan = $t->sql_value(q{SELECT ngx_dashboards_trends_plan($1, $2::jsonb, $3)}, $T, $Q1, $NOW);
    my $p = $J->decode($plan);
    is_deeply $p->{current}{buckets}, ['2025-01-01 00:00:00', '2025-01-02 00:00:00', '2025-01-03 00:00:00'],
        'plan: local bucket starts';
    is_deeply [ $p->{current}{from}, $p->{current}{to} ],
        ['2025-01-01T00:00:00+00:00', '2025-01-03T23:59:59+00:00'], 'plan: filter bounds (second precision)';
    my $raw = $J->decode($t->sql_value(q{SELECT ngx_dashboards_trends_aggregate($1, $2::jsonb)}, $T, $plan));
    is_deeply $raw, [ { series => 0, previous => JSON::PP::false, rows => [ { breakdown_value => undef, data => [3, 5, 1] } ] },
                      { series => 1, previous => JSON::PP::false, rows => [ { breakdown_value => undef, data => [2, 2, 1] } ] } ],
        'aggregate: raw rows';
}

# ---------------------------------------------------------------------------
# 17. persons' maths counted by hand over pseudo-random events: dau, weekly
#     and monthly actives by hour, day, week and month, with breakdowns and a
#     person filter; ranges whose positions fit one and two bigints of the
#     statement's masks, and ranges past them (the distinct pairs), in
#     America/New_York

{
    use POSIX qw(floor strftime);
    use Time::Local qw(timegm);
    my $BT = project(name => 'Bits', timezone => 'America/New_York');
    my $seed = 7;
    my $rnd = sub { $seed = ($seed * 1103515245 + 12345) % 2147483648; return int($seed / 2147483648 * $_[0]) };
    my (%actor, %tier);
    for my $p (1 .. 8) {
        my @ids = map { "p$p-$_" } 1 .. 1 + $rnd->(3);
        my $id = person($BT, { tier => $p % 3 ? 'gold' : 'iron' }, @ids);
        $actor{$_} = "P$id" for @ids;
        $tier{"P$id"} = $p % 3 ? 'gold' : 'iron';
    }
    my @dids = ((sort keys %actor), 'loose1', 'loose2', 'loose3');
    $actor{$_} = "D$_" for qw(loose1 loose2 loose3);
    my @ev;
    my $start = timegm(0, 0, 0, 20, 10, 2024);              # 2024-11-20T00:00:00Z
    my $jan2 = timegm(0, 0, 5, 2, 0, 2025);                 # 2025-01-02T00:00 local
    for my $i (1 .. 220) {
        my $ts = $i <= 160 ? $start + $rnd->(45 * 86400) : $jan2 + $rnd->(86400);
        my $did = $dids[$rnd->(scalar @dids)];
        my $k = $rnd->(3);
        push @ev, { did => $did, t => $ts, br => $k == 0 ? undef : $k == 1 ? 'a' : 'b' };
    }
    events($BT, map { [ 'bx', $_->{did}, strftime('%Y-%m-%dT%H:%M:%SZ', gmtime $_->{t}),
                        defined $_->{br} ? { br => $_->{br} } : {} ] } @ev);
    my $utc = sub {                                         # plan bound -> epoch
        my ($y, $m, $d, $H, $M, $S) = $_[0] =~ /^(\d+)-(\d+)-(\d+)T(\d+):(\d+):(\d+)\+00:00$/ or die $_[0];
        return timegm($S, $M, $H, $d, $m - 1, $y);
    };
    my $local = sub {                                       # local bucket start
        my ($y, $m, $d, $H, $M, $S) = $_[0] =~ /^(\d+)-(\d+)-(\d+) (\d+):(\d+):(\d+)$/ or die $_[0];
        return timegm($S, $M, $H, $d, $m - 1, $y) + 5 * 3600;   # EST all along
    };
    # the numbers by hand: for each breakdown value, the distinct actors of
    # the events in each bucket (a window: in the w days ending with it)
    my $by_hand = sub {
        my ($q, %o) = @_;
        my $p = $J->decode($t->sql_value(q{SELECT ngx_dashboards_trends_plan($1, $2::jsonb, $3)},
                                         $BT, $q, $NOW));
        my ($from, $to) = map { $utc->($p->{current}{$_}) } qw(from to);
        my @b = map { $local->($_) } @{ $p->{current}{buckets} };
        my %out;
        for my $e (@ev) {
            next if $o{only} && !$o{only}->($e);
            my $bv = $o{by} ? $o{by}->($e) // $NULLM : undef;
            my $key = defined $bv ? $bv : '';
            $out{$key} //= [ map { {} } @b ];
            for my $i (0 .. $#b) {
                my $hit;
                if ($o{window}) {
                    # the event's day (hour) and the bucket's: by hour, the
                    # window is w days of hours ending with the bucket's hour
                    my $unit = $q->{interval} eq 'hour' ? 3600 : 86400;
                    my $day = floor(($e->{t} - 5 * 3600) / $unit);
                    my $bd = floor(($b[$i] - 5 * 3600) / $unit);
                    $hit = $day <= $bd && $day > $bd - $o{window} * 86400 / $unit && $e->{t} <= $to;
                } else {
                    my $end = $i < $#b ? $b[$i + 1] : $to + 1;
                    $hit = $e->{t} >= $b[$i] && $e->{t} < $end && $e->{t} >= $from && $e->{t} <= $to;
                }
                $out{$key}[$i]{ $actor{ $e->{did} } } = 1 if $hit;
            }
        }
        my %data = map { my $k = $_; ($k => [ map { scalar keys %$_ } @{ $out{$k} } ]) } keys %out;
        delete $data{$_} for grep { !grep { $_ } @{ $data{$_} } } keys %data;
        return \%data;
    };
    my $engine = sub {
        my ($q) = @_;
        my ($r) = trends($BT, $q, $NOW);
        return { map { ($_->{breakdown_value} // '') => $_->{data} } @{ $r->{results} } };
    };
    my @cases = (
        [ 'dau by day, 15 days (one word)', 'dau', 'day', '-14d' ],
        [ 'dau by day, 45 days (one word)', 'dau', 'day', '-44d' ],
        [ 'dau by day, 70 days (two words)', 'dau', 'day', '-69d' ],
        [ 'dau by day, 150 days (pairs: past 128 positions)', 'dau', 'day', '-149d' ],
        [ 'weekly_active by day, 40 days (one word)', 'weekly_active', 'day', '-40d', window => 7 ],
        [ 'weekly_active by day, 60 days (two words)', 'weekly_active', 'day', '-60d', window => 7 ],
        [ 'monthly_active by day, 20 days (one word)', 'monthly_active', 'day', '-20d', window => 30 ],
        [ 'monthly_active by day, 40 days (two words)', 'monthly_active', 'day', '-40d', window => 30 ],
        [ 'monthly_active by day, 120 days (pairs)', 'monthly_active', 'day', '-120d', window => 30 ],
        [ 'monthly_active by week (one word)', 'monthly_active', 'week', '-28d', window => 30 ],
        [ 'dau by week (one word)', 'dau', 'week', '-44d' ],
        [ 'dau by month (one word)', 'dau', 'month', '-60d' ],
        [ 'dau by hour (one word)', 'dau', 'hour', '-1d' ],
        [ 'dau by hour, 3 days (two words)', 'dau', 'hour', '-3d' ],
        [ 'dau by hour, 25 days (pairs)', 'dau', 'hour', '-25d' ],
        [ 'weekly_active by hour (pairs)', 'weekly_active', 'hour', '-1d', window => 7 ],
    );
    for my $c (@cases) {
        my ($name, $math, $interval, $from, %o) = @$c;
        my $q = tq(series => [ ev('bx', math => $math) ], interval => $interval,
                   dateRange => { date_from => $from });
        my $want = $by_hand->($q, %o);
        ok scalar(grep { $_ } map { @$_ } values %$want), "$name: the events count somewhere";
        is_deeply $engine->($q), $want, $name;
        $q->{breakdownFilter} = { breakdown => 'br', breakdown_type => 'event' };
        is_deeply $engine->($q), $by_hand->($q, %o, by => sub { $_[0]{br} }), "$name, by an event property";
        $q->{breakdownFilter} = { breakdown => 'tier', breakdown_type => 'person' };
        is_deeply $engine->($q), $by_hand->($q, %o, by => sub { $tier{ $actor{ $_[0]{did} } } }),
            "$name, by a person property";
        delete $q->{breakdownFilter};
        $q->{series}[0]{properties} = [ { key => 'tier', value => 'gold', operator => 'exact', type => 'person' } ];
        is_deeply $engine->($q), $by_hand->($q, %o, only => sub { ($tier{ $actor{ $_[0]{did} } } // '') eq 'gold' }),
            "$name, gold persons only";
    }
}

# ---------------------------------------------------------------------------
# 18. a computation beside others of its request runs without PostgreSQL's
#     parallel workers, for its own transaction only, unless
#     max_parallel_workers_per_gather was chosen; one alone keeps them
#     (ngx_dashboards_insight_compute's p_side_by_side,
#     sql/migrations/012_insight_results.sql; the module's side: t/210)

{
    $t->sql(q{CREATE FUNCTION t_workers(p_team int, p_q jsonb, p_side boolean) RETURNS text
              LANGUAGE plpgsql AS $f$
              DECLARE
                  r jsonb := ngx_dashboards_insight_compute(p_team, p_q, NULL, p_side);
              BEGIN
                  IF r->>'error' IS NOT NULL THEN
                      RETURN 'refused: ' || (r->>'error');
                  END IF;
                  RETURN current_setting('max_parallel_workers_per_gather');
              END $f$});
    my $default = $t->sql_value(q{SELECT setting FROM pg_settings WHERE name = 'max_parallel_workers_per_gather'});
    isnt $default, '0', "the cluster's default allows workers ($default)";
    is $t->sql_value('SELECT t_workers($1, $2::jsonb, true)', $T, $Q1), '0',
        'workers: none for a computation side by side';
    is $t->sql_value(q{SELECT current_setting('max_parallel_workers_per_gather')}), $default,
        'workers: the default again after its transaction';
    is $t->sql_value('SELECT t_workers($1, $2::jsonb, false)', $T, $Q1), $default,
        'workers: a computation alone keeps them';
    $t->sql('SET max_parallel_workers_per_gather = 3');
    is $t->sql_value('SELECT t_workers($1, $2::jsonb, true)', $T, $Q1), '3',
        "workers: the session's own setting is kept";
    $t->sql('RESET max_parallel_workers_per_gather');
}

done_testing;
