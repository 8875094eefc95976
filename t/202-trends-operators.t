#!/usr/bin/perl
# The TrendsQuery engine (sql/migrations/011_trends.sql) on the property
# filter operators between, not_between, min, max and the semver family,
# and on compareFilter.compare_to, called directly as t/200-trends-engine.t
# does: SELECT ngx_dashboards_trends(team, query, now) with a fixed now over
# events inserted by hand.  Expectations are computed by hand from PostHog's
# rules: posthog/hogql/property.py (_expr_to_compare_op, the semver bounds,
# _validate_between_values), sortableSemver in
# posthog/hogql/functions/posthog.py, and QueryCompareToDateRange
# (posthog/hogql_queries/utils/query_compare_to_date_range.py).

use strict;
use warnings;
use utf8;
use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use Dash;
use Dash::Ordered qw(okeys);
use JSON::PP;

my $t = Dash->new(start => 0);
my $w = $t->world;
my $J = JSON::PP->new->canonical;
my $NOW = '2025-01-03T10:00:00Z';

# events: [event, distinct_id, timestamp, {properties}]
sub events {
    my ($team, @ev) = @_;
    $t->sql(q{INSERT INTO posthog_event (team_id, event, distinct_id, "timestamp", properties)
              SELECT $1, x->>0, x->>1, (x->>2)::timestamptz,
                     CASE WHEN jsonb_typeof(x->3) = 'object' THEN x->3 ELSE '{}' END
                FROM jsonb_array_elements(($2::jsonb)->'e') x}, $team, { e => \@ev });
}

sub project { return $t->fixture_project(org => $w->{org}, @_) }

sub tq { return { kind => 'TrendsQuery', @_ } }
sub ev { my ($event, %o) = @_; return { kind => 'EventsNode', event => $event, %o } }

# (decoded result, raw json text)
sub trends {
    my ($team, $q, $now) = @_;
    my $raw = $t->sql_value('SELECT ngx_dashboards_trends($1, $2::jsonb, $3::timestamptz)',
                            $team, $q, $now // $NOW);
    return ($J->decode($raw), $raw);
}

$t->sql(q{CREATE FUNCTION t_try(p_team int, p_q jsonb, p_now timestamptz) RETURNS text
          LANGUAGE plpgsql AS $f$
          BEGIN
              PERFORM ngx_dashboards_trends(p_team, p_q, p_now);
              RETURN 'ok';
          EXCEPTION WHEN others THEN
              RETURN SQLSTATE || ' ' || SQLERRM;
          END $f$});

# a 400 validation error (the per-tile error of an insight): SQLSTATE DB400
# and PostHog's body
sub refused {
    my ($team, $q, $detail, $name) = @_;
    my $got = $t->sql_value('SELECT t_try($1, $2::jsonb, $3::timestamptz)', $team, $q, $NOW);
    my ($state, $body) = $got =~ /^(\S+) (.*)$/s;
    is $state, 'DB400', "$name: DB400";
    my $b = eval { $J->decode($body) } // {};
    is_deeply $b, { type => 'validation_error', code => 'invalid_input', detail => $detail, attr => undef },
        "$name: body";
}

# ---------------------------------------------------------------------------
# 1. between, not_between, min, max: numeric comparisons; a missing, empty,
#    null or non-numeric property is in none of them

my $N = project(name => 'Numbers');
events($N,
    ['n', 'u', '2025-01-03T01:00:00Z', { n => 5 }],
    ['n', 'u', '2025-01-03T01:00:00Z', { n => '10' }],
    ['n', 'u', '2025-01-03T01:00:00Z', { n => 15 }],
    ['n', 'u', '2025-01-03T01:00:00Z', { n => 20.5 }],
    ['n', 'u', '2025-01-03T01:00:00Z', { n => 'abc' }],
    ['n', 'u', '2025-01-03T01:00:00Z', { n => '' }],
    ['n', 'u', '2025-01-03T01:00:00Z', { n => undef }],
    ['n', 'u', '2025-01-03T01:00:00Z', {}],
);
my $count = sub {
    my ($team, $event, $props) = @_;
    my ($r) = trends($team, tq(series => [ ev($event) ], dateRange => { date_from => 'dStart' },
                               properties => $props));
    return $r->{results}[0]{data}[0];
};
my @num = (
    # operator, value, events counted (of 8), why
    [ 'between', [5, 15], 3, '5, "10", 15: bounds included' ],
    [ 'between', ['10', '20.5'], 3, 'numeric strings as bounds' ],
    [ 'between', [16, 20], 0, 'nothing in 16..20' ],
    [ 'between', [7, 7], 0, 'min = max, no 7' ],
    [ 'not_between', [5, 15], 1, 'only 20.5: abc and the missing ones are outside neither' ],
    [ 'not_between', [0, 100], 0, 'everything numeric is inside' ],
    [ 'not_between', [6, 14], 3, '5, 15, 20.5' ],
    [ 'min', 10, 3, 'min is gte: "10", 15, 20.5' ],
    [ 'min', 21, 0, 'min 21' ],
    [ 'max', 10, 2, 'max is lte: 5, "10"' ],
    [ 'max', 4, 0, 'max 4' ],
    [ 'min', [16, 12], 2, 'a list of values: OR (15 >= 12, 20.5 >= 16)' ],
);
for my $c (@num) {
    my ($op, $v, $want, $why) = @$c;
    is $count->($N, 'n', [ { key => 'n', type => 'event', operator => $op, value => $v } ]), $want,
        "$op " . $J->encode($v) . ": $why";
}
# a property no event has: false for every one of them, not_between included
for my $c ([ 'between', [0, 100] ], [ 'not_between', [0, 100] ], [ 'min', 0 ], [ 'max', 1e9 ]) {
    my ($op, $v) = @$c;
    is $count->($N, 'n', [ { key => 'absent', operator => $op, value => $v } ]), 0,
        "$op on a missing property: no event";
}
# person properties go through the same comparison
{
    my $pid = $t->sql_value(q{INSERT INTO posthog_person (team_id, properties)
                              VALUES ($1, '{"age": 30}') RETURNING id}, $N);
    $t->sql(q{INSERT INTO posthog_persondistinctid (team_id, person_id, distinct_id)
              VALUES ($1, $2, 'u')}, $N, $pid);
    is $count->($N, 'n', [ { key => 'age', type => 'person', operator => 'between', value => [18, 65] } ]), 8,
        'between on a person property';
    is $count->($N, 'n', [ { key => 'age', type => 'person', operator => 'not_between', value => [18, 65] } ]), 0,
        'not_between on a person property';
}

# malformed values: PostHog's QueryError messages, a 400 (never a 500)
refused($N, tq(series => [ ev('n') ], properties => [ { key => 'n', operator => 'between', value => 5 } ]),
        'between operator requires a two-element array [min, max]', 'between with a number');
refused($N, tq(series => [ ev('n') ], properties => [ { key => 'n', operator => 'between', value => [5] } ]),
        'between operator requires a two-element array [min, max]', 'between with one value');
refused($N, tq(series => [ ev('n') ], properties => [ { key => 'n', operator => 'between', value => [1, 2, 3] } ]),
        'between operator requires a two-element array [min, max]', 'between with three values');
refused($N, tq(series => [ ev('n') ], properties => [ { key => 'n', operator => 'between' } ]),
        'between operator requires a two-element array [min, max]', 'between without a value');
refused($N, tq(series => [ ev('n') ], properties => [ { key => 'n', operator => 'not_between', value => ['a', 2] } ]),
        'not_between operator requires numeric values', 'not_between with a word');
refused($N, tq(series => [ ev('n') ], properties => [ { key => 'n', operator => 'between', value => [1, undef] } ]),
        'between operator requires numeric values', 'between with a null');
refused($N, tq(series => [ ev('n') ], properties => [ { key => 'n', operator => 'between', value => [3, 1] } ]),
        'between operator requires min value to be less than or equal to max value', 'between 3..1');
# in a series' properties too; "1_0" is a number for Python's float() (10)
refused($N, tq(series => [ ev('n', properties => [ { key => 'n', operator => 'not_between', value => [11, '1_0'] } ]) ]),
        'not_between operator requires min value to be less than or equal to max value',
        'series not_between 11.."1_0"');
is $count->($N, 'n', [ { key => 'n', operator => 'between', value => [' 4 ', '1_0'] } ]), 2,
    'between [" 4 ", "1_0"]: Python float() reads both';
# an insight's tile shows the message as its error (ngx_dashboards_insight_compute)
is_deeply $J->decode($t->sql_value('SELECT ngx_dashboards_insight_compute($1, $2::jsonb, NULL)', $N,
                                   { kind => 'InsightVizNode', source => tq(series => [ ev('n') ],
                                     properties => [ { key => 'n', operator => 'between', value => [3, 1] } ]) })),
    { error => 'between operator requires min value to be less than or equal to max value' },
    'insight compute: the per-tile error';

# ---------------------------------------------------------------------------
# 2. the semver family: sortableSemver(prop) <op> sortableSemver(value), a
#    strict X.Y.Z (v prefix, -pre-release and +build ignored); an invalid
#    or missing version is excluded from every one of them

my $V = project(name => 'Versions');
events($V,
    ['v', 'u', '2025-01-03T01:00:00Z', { v => '1.2.3' }],         # A
    ['v', 'u', '2025-01-03T01:00:00Z', { v => '1.2.10' }],        # B
    ['v', 'u', '2025-01-03T01:00:00Z', { v => 'v1.3.0' }],        # C
    ['v', 'u', '2025-01-03T01:00:00Z', { v => '2.0.0-beta.1' }],  # D = 2.0.0
    ['v', 'u', '2025-01-03T01:00:00Z', { v => '0.2.5' }],         # E
    ['v', 'u', '2025-01-03T01:00:00Z', { v => ' 0.0.3+build ' }], # F = 0.0.3
    ['v', 'u', '2025-01-03T01:00:00Z', { v => '1.02.3' }],        # leading zero: invalid
    ['v', 'u', '2025-01-03T01:00:00Z', { v => '1.2' }],           # two parts: invalid
    ['v', 'u', '2025-01-03T01:00:00Z', { v => 'abc' }],           # invalid
    ['v', 'u', '2025-01-03T01:00:00Z', { v => '' }],              # missing
    ['v', 'u', '2025-01-03T01:00:00Z', {}],                       # missing
);
my @ver = (
    [ 'semver_eq', '1.2.3', 1, 'A' ],
    [ 'semver_eq', '2.0.0', 1, 'D: the pre-release does not count' ],
    [ 'semver_eq', '9.9.9', 0, 'no such version' ],
    [ 'semver_eq', ['1.2.3', '0.0.3'], 2, 'a list: OR' ],
    [ 'semver_neq', '1.2.3', 5, 'B C D E F: invalid and missing versions excluded' ],
    [ 'semver_gt', '1.2.3', 3, 'B (10 > 3 as numbers) C D' ],
    [ 'semver_gt', '2.0.0', 0, 'nothing above 2.0.0' ],
    [ 'semver_gte', '1.2.3', 4, 'A B C D' ],
    [ 'semver_lt', '1.2.3', 2, 'E F' ],
    [ 'semver_lt', '0.0.3', 0, 'nothing below 0.0.3' ],
    [ 'semver_lte', '1.2.3', 3, 'A E F' ],
    [ 'semver_tilde', '1.2.0', 2, '~1.2.0 = [1.2.0, 1.3.0): A B' ],
    [ 'semver_tilde', '1.2', 2, '~1.2 = [1.2.0, 1.3.0)' ],
    [ 'semver_tilde', '1.4.0', 0, '~1.4.0: none' ],
    [ 'semver_caret', '1.2.3', 3, '^1.2.3 = [1.2.3, 2.0.0): A B C' ],
    [ 'semver_caret', '0.2.3', 1, '^0.2.3 = [0.2.3, 0.3.0): E' ],
    [ 'semver_caret', '0.0.3', 1, '^0.0.3 = [0.0.3, 0.0.4): F' ],
    [ 'semver_caret', '3.0.0', 0, '^3.0.0: none' ],
    [ 'semver_wildcard', '1.*', 3, '1.* = [1.0.0, 2.0.0): A B C' ],
    [ 'semver_wildcard', '1.2.*', 2, '1.2.* = [1.2.0, 1.3.0): A B' ],
    [ 'semver_wildcard', '1.2.3', 0, '1.2.3 = [1.2.3.0, 1.2.4.0): bounds sortableSemver rejects' ],
    [ 'semver_wildcard', '3.*', 0, '3.*: none' ],
    [ 'semver_caret', [], 11, 'an empty list: every event' ],
);
for my $c (@ver) {
    my ($op, $v, $want, $why) = @$c;
    is $count->($V, 'v', [ { key => 'v', type => 'event', operator => $op, value => $v } ]), $want,
        "$op " . $J->encode([$v]) . ": $why";
}
for my $op (qw(semver_eq semver_neq semver_gt semver_gte semver_lt semver_lte
               semver_tilde semver_caret semver_wildcard)) {
    is $count->($V, 'v', [ { key => 'absent', operator => $op, value => $op eq 'semver_wildcard' ? '1.*' : '1.2.3' } ]), 0,
        "$op on a missing property: no event";
}
# a value sortableSemver rejects matches nothing, semver_neq included
is $count->($V, 'v', [ { key => 'v', operator => 'semver_neq', value => '1.2' } ]), 0,
    'semver_neq with an invalid version: no event';

refused($V, tq(series => [ ev('v') ], properties => [ { key => 'v', operator => 'semver_tilde', value => '1' } ]),
        q{Tilde operator requires a valid semver string (e.g., '1.2.3')}, 'tilde of a major alone');
refused($V, tq(series => [ ev('v') ], properties => [ { key => 'v', operator => 'semver_caret', value => 'x.1.2' } ]),
        q{Caret operator requires a valid semver string (e.g., '1.2.3')}, 'caret of a word');
refused($V, tq(series => [ ev('v') ], properties => [ { key => 'v', operator => 'semver_caret', value => 1.5 } ]),
        'Caret operator requires a semver string value', 'caret of a number');
refused($V, tq(series => [ ev('v') ], properties => [ { key => 'v', operator => 'semver_wildcard', value => '*' } ]),
        q{Wildcard operator requires a valid semver string (e.g., '1.2.3')}, 'wildcard of nothing');
refused($V, tq(series => [ ev('v') ], properties => [ { key => 'v', operator => 'semver_tilde',
                                                        value => ['1.2.3', 'a.b'] } ]),
        q{Tilde operator requires a valid semver string (e.g., '1.2.3')}, 'tilde: each value of a list');
refused($V, tq(series => [ ev('v') ], properties => [ { key => 'v', operator => 'semver_gte', value => 2 } ]),
        'semver_gte operator requires a semver string value', 'semver_gte of a number');

# icontains_multi / not_icontains_multi: feature flag operators, which
# PostHog's property_to_expr does not turn into an expression either
for my $op (qw(icontains_multi not_icontains_multi)) {
    refused($V, tq(series => [ ev('v') ], properties => [ { key => 'v', operator => $op, value => ['a'] } ]),
            qq{The property filter operator "$op" is not supported here.}, $op);
}

# values are bound, never spliced
is $count->($V, 'v', [ { key => q{v'); DROP TABLE posthog_event; --}, operator => 'semver_caret',
                         value => q{1.2.3-'); SELECT 1; --} } ]), 0, 'odd key and value';
is $t->sql_value('SELECT count(*) FROM posthog_event WHERE team_id = $1', $V), 11, 'events still there';

# ---------------------------------------------------------------------------
# 3. compareFilter.compare_to: the previous period is date_from moved by
#    compare_to (relative_date_parse with now = date_from), as long as the
#    current one; rows as with compare (compare, compare_label "previous")

my $C = project(name => 'Compare to');
events($C,
    ['c', 'u', '2024-12-01T12:00:00Z'],
    ['c', 'u', '2024-12-02T12:00:00Z'],
    ['c', 'u', '2024-12-03T12:00:00Z'],
    ['c', 'u', '2024-12-03T13:00:00Z'],
    ['c', 'u', '2024-12-18T12:00:00Z'],
    ['c', 'u', '2024-12-20T23:59:58Z'],
    ['c', 'u', '2024-12-21T00:00:00Z'],
    ['c', 'u', '2024-12-24T23:59:59Z'],
    ['c', 'u', '2024-12-25T12:00:00Z'],
    ['c', 'u', '2024-12-26T12:00:00Z'],
    ['c', 'u', '2024-12-26T13:00:00Z'],
    ['c', 'u', '2024-12-27T12:00:00Z'],
    ['c', 'u', '2024-12-28T00:00:00Z'],
    ['c', 'u', '2025-01-01T12:00:00Z'],
    ['c', 'u', '2025-01-02T08:30:00Z'],
    ['c', 'u', '2025-01-03T09:00:00Z'],
);
my $cmp = sub {
    my ($compare_to, %o) = @_;
    return trends($C, tq(series => [ ev('c') ], dateRange => { date_from => '-2d' },
                         compareFilter => { compare => JSON::PP::true, compare_to => $compare_to }, %o));
};
{
    my ($r, $raw) = $cmp->('-1w');
    my ($cur, $prev) = @{ $r->{results} };
    is scalar @{ $r->{results} }, 2, '-1w: two rows';
    is_deeply [ @$cur{qw(compare compare_label days data)} ],
        [ JSON::PP::true, 'current', ['2025-01-01', '2025-01-02', '2025-01-03'], [1, 1, 1] ], '-1w: current row';
    is_deeply [ @$prev{qw(compare compare_label days labels data count)} ],
        [ JSON::PP::true, 'previous', ['2024-12-25', '2024-12-26', '2024-12-27'],
          ['25-Dec-2024', '26-Dec-2024', '27-Dec-2024'], [1, 2, 1], 4 ],
        '-1w: previous 25..27 Dec (not 29..31 Dec, the period before)';
    is_deeply $prev->{action}{days},
        ['2024-12-25T00:00:00Z', '2024-12-26T00:00:00Z', '2024-12-27T00:00:00Z'], '-1w: previous action.days';
    is_deeply okeys($raw, 'results', 1),
        [qw(data labels days count label filter action compare compare_label order)], '-1w: key order';
    is_deeply $r->{resolved_date_range},
        { date_from => '2025-01-01T00:00:00Z', date_to => '2025-01-03T23:59:59.999999Z' },
        'resolved_date_range: the current period';
    is $prev->{filter}{date_from}, '2025-01-01T00:00:00Z', 'filter: the current period';

    ($r) = $cmp->('-1m');
    ($cur, $prev) = @{ $r->{results} };
    is_deeply [ @$prev{qw(compare_label days data)} ],
        [ 'previous', ['2024-12-01', '2024-12-02', '2024-12-03'], [1, 1, 2] ], '-1m: 1..3 Dec';

    ($r) = $cmp->('-14d');
    ($cur, $prev) = @{ $r->{results} };
    is_deeply [ @$prev{qw(days data)} ], [ ['2024-12-18', '2024-12-19', '2024-12-20'], [1, 0, 1] ],
        '-14d: 18..20 Dec, the last second of 20 Dec in, 21 Dec out';

    # an hour interval: the hour of date_from a day earlier, same length
    ($r) = trends($C, tq(series => [ ev('c') ], interval => 'hour', dateRange => { date_from => '-3h' },
                         compareFilter => { compare => JSON::PP::true, compare_to => '-1d' }));
    ($cur, $prev) = @{ $r->{results} };
    is_deeply [ @$cur{qw(days data)} ],
        [ [ map { "2025-01-03 $_:00:00" } qw(07 08 09 10) ], [0, 0, 1, 0] ], '-1d hourly: current 07..10';
    is_deeply [ @$prev{qw(days labels data)} ],
        [ [ map { "2025-01-02 $_:00:00" } qw(07 08 09 10) ],
          [ map { "2-Jan $_:00" } qw(07 08 09 10) ], [0, 1, 0, 0] ], '-1d hourly: previous 07..10 on 2 Jan';

    # a total value: one number per period
    ($r) = $cmp->('-1w', trendsFilter => { display => 'ActionsPie' });
    is_deeply [ map { [ $_->{compare_label}, $_->{aggregated_value} ] } @{ $r->{results} } ],
        [ ['current', 3], ['previous', 4] ], 'total value: 3 now, 4 a week before';

    # the plan carries the shifted period
    my $plan = $J->decode($t->sql_value(q{SELECT ngx_dashboards_trends_plan($1, $2::jsonb, $3)}, $C,
        tq(series => [ ev('c') ], dateRange => { date_from => '-2d' },
           compareFilter => { compare => JSON::PP::true, compare_to => '-1w' }), $NOW));
    is_deeply [ @{ $plan->{previous} }{qw(date_from date_to)} ],
        ['2024-12-25 00:00:00.000000', '2024-12-27 23:59:59.999999'], 'plan: the previous period';

    # compare_to without compare: no comparison at all (setup_series doubles
    # the series only with compare)
    ($r) = trends($C, tq(series => [ ev('c') ], dateRange => { date_from => '-2d' },
                         compareFilter => { compare_to => '-1w' }));
    is scalar @{ $r->{results} }, 1, 'compare_to alone: one row';
    ok !exists $r->{results}[0]{compare_label}, 'compare_to alone: no compare_label';

    # a formula runs per period
    ($r) = $cmp->('-1w', trendsFilter => { formula => 'A * 10' });
    is_deeply [ map { [ $_->{compare_label}, $_->{data} ] } @{ $r->{results} } ],
        [ ['current', [10, 10, 10]], ['previous', [10, 20, 10]] ], 'formula with compare_to';
}
# the team's timezone: wall-clock days, the previous period across a
# daylight-saving change keeps its local bounds
{
    my $NY = project(name => 'NY compare to', timezone => 'America/New_York');
    events($NY,
        ['c', 'u', '2025-02-08T04:59:00Z'],   # 7 Feb 23:59 local: out
        ['c', 'u', '2025-02-08T05:00:00Z'],   # 8 Feb 00:00 local: in
        ['c', 'u', '2025-02-11T04:30:00Z'],   # 10 Feb 23:30 local: in
        ['c', 'u', '2025-02-11T05:30:00Z'],   # 11 Feb 00:30 local: out
    );
    my ($r) = trends($NY, tq(series => [ ev('c') ], dateRange => { date_from => '-2d' },
                             compareFilter => { compare => JSON::PP::true, compare_to => '-1m' }),
                     '2025-03-10T15:00:00Z');
    my ($cur, $prev) = @{ $r->{results} };
    is_deeply $cur->{days}, ['2025-03-08', '2025-03-09', '2025-03-10'], 'NY: current 8..10 Mar';
    is_deeply [ @$prev{qw(days data)} ], [ ['2025-02-08', '2025-02-09', '2025-02-10'], [1, 0, 1] ],
        'NY -1m: 8..10 Feb local';
    is_deeply $prev->{action}{days},
        ['2025-02-08T00:00:00-05:00', '2025-02-09T00:00:00-05:00', '2025-02-10T00:00:00-05:00'],
        'NY -1m: previous action.days in local time';
}
refused($C, tq(series => [ ev('c') ], compareFilter => { compare => JSON::PP::true, compare_to => '-999999y' }),
        'Invalid date: -999999y', 'compare_to out of range');

done_testing;
