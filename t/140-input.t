#!/usr/bin/perl
# What the module reads from a client, read as PostHog (Django, DRF, Python's
# json) reads it: bodies that are not UTF-8, "\u0000" and lone surrogates,
# control characters, query strings with bytes that are not UTF-8 or %00,
# repeated keys and parameters, numbers given for strings and integers, and
# validation messages quoting long input.  Never a 500; a refused request
# changes no row.

use strict;
use warnings;
use utf8;
use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use Dash;
use Dash::Errors qw(is_error);

my $t = Dash->new;
my $w = $t->world;
my $P = $w->{project};
my $BASE = "/api/projects/$P/dashboards";

my $d = $t->fixture_dashboard(team => $P, user => $w->{user}, name => 'Input');
my ($tile) = $t->fixture_text_tile(dashboard => $d, body => 'hello',
                                   layouts => { sm => { x => 0, y => 0, w => 6, h => 5 } });

sub db_state {
    return $t->db_state(posthog_dashboard => 'rows', posthog_dashboardtile => 'rows',
                        posthog_text => 'rows', posthog_tag => 'rows',
                        posthog_taggeditem => 'rows');
}

# a refused request; the rows are compared once per group (unchanged())
sub refused {
    my ($name, $res, @expect) = @_;
    local $Test::Builder::Level = $Test::Builder::Level + 1;
    is_error($res->(), @expect, $name);
}

my $state = db_state();

sub unchanged {
    my ($name) = @_;
    local $Test::Builder::Level = $Test::Builder::Level + 1;
    is db_state(), $state, "$name: database unchanged";
}

sub bytes { my $s = shift; utf8::encode($s) if utf8::is_utf8($s); $s }

# every route that reads a body, with a body it would accept
my @WRITES = (
    [ POST  => "$BASE/",                            '{"name":"x"}' ],
    [ PUT   => "$BASE/$d/",                         '{"name":"x"}' ],
    [ PATCH => "$BASE/$d/",                         '{"name":"x"}' ],
    [ POST  => "$BASE/$d/create_text_tile/",        '{"body":"x"}' ],
    [ POST  => "$BASE/$d/update_text_tile/",        qq({"tile_id":$tile,"body":"x"}) ],
    [ POST  => "$BASE/$d/delete_tile/",             qq({"tile_id":$tile,"x":"x"}) ],
    [ POST  => "$BASE/$d/copy_tile/",               qq({"fromDashboardId":$d,"tileId":$tile,"x":"x"}) ],
    [ POST  => "$BASE/$d/move_tile/",               qq({"to_dashboard":$d,"tile":{"id":$tile},"x":"x"}) ],
    [ PATCH => "$BASE/$d/move_tile/",               qq({"to_dashboard":$d,"tile":{"id":$tile},"x":"x"}) ],
    [ POST  => "$BASE/$d/reorder_tiles/",           qq({"tile_order":[$tile],"x":"x"}) ],
    [ POST  => "$BASE/bulk_update_tags/",           qq({"ids":[$d],"action":"add","tags":["x"]}) ],
    [ POST  => "$BASE/create_from_template_json/",  '{"template":{"x":"x"}}' ],
    [ POST  => "$BASE/create_unlisted_dashboard/",  '{"tile":"x"}' ],
);

# --- bodies that are not UTF-8: DRF's parse error, Python's message ----------

# the bytes replace the "x" in each body; the position is that of the first
# bad byte in {"name":"x"} (9), so it is computed per body
my @BAD = (
    [ 'a lead byte where a continuation byte belongs', "\xc3\xc3", 0xc3, 1, 'invalid continuation byte' ],
    [ 'a lone continuation byte',                     "\x80",     0x80, 1, 'invalid start byte' ],
    [ 'an overlong NUL',                              "\xc0\x80", 0xc0, 1, 'invalid start byte' ],
    [ 'an overlong three-byte form',                  "\xe0\x80\xaf", 0xe0, 1, 'invalid continuation byte' ],
    [ 'a UTF-8 encoded surrogate',                    "\xed\xa0\x80", 0xed, 1, 'invalid continuation byte' ],
    [ 'a code point above U+10FFFF',                  "\xf4\x90\x80\x80", 0xf4, 1, 'invalid continuation byte' ],
    [ 'a five-byte form',                             "\xf8\x88\x80\x80\x80", 0xf8, 1, 'invalid start byte' ],
    [ 'a sequence cut by ASCII',                      "\xe2\x82A", 0xe2, 2, 'invalid continuation byte' ],
);

for my $route (@WRITES) {
    my ($method, $path, $good) = @$route;
    for my $case (@BAD) {
        my ($name, $bytes, $byte, $n, $why) = @$case;
        my $body = $good;
        my $at = index($body, '"x"') + 1;
        substr($body, $at, 1) = $bytes;
        my $detail = $n == 1
            ? sprintf("JSON parse error - 'utf-8' codec can't decode byte 0x%02x in position %d: %s", $byte, $at, $why)
            : sprintf("JSON parse error - 'utf-8' codec can't decode bytes in position %d-%d: %s", $at, $at + $n - 1, $why);
        refused("$method $path, $name", sub { $t->api($method => $path, body => $body) },
                400, 'invalid_request', 'parse_error', $detail, undef);
    }
}

unchanged('bodies that are not UTF-8, on every route');

# DRF reads the body through codecs' StreamReader, which drops a sequence
# cut short at the very end: the JSON before it is what is parsed
{
    my $r = $t->api(POST => "$BASE/", body => "{\"name\":\"cut at the end\"} \xe2\x82");
    is $r->{status}, 201, 'a sequence cut at the very end is dropped: 201' or diag $r->{raw};
    $t->sql('DELETE FROM posthog_dashboard WHERE id = $1', $r->{json}{id}) if $r->{json};
    $state = db_state();
    refused('a sequence cut at the end of a string', sub {
                $t->api(POST => "$BASE/", body => "{\"name\":\"x\xe2\x82") },
            400, 'invalid_request', 'parse_error', qr/^JSON parse error - /, undef);
}

# Python's json refuses control characters inside strings (strict mode)
refused('a raw control character in a string', sub {
            $t->api(POST => "$BASE/", body => "{\"name\":\"a\x01b\"}") },
        400, 'invalid_request', 'parse_error',
        'JSON parse error - Invalid control character at: line 1 column 11 (char 10)', undef);
refused('a raw NUL in a string, after a newline and an é', sub {
            $t->api(POST => "$BASE/", body => bytes("{\n\"name\":\"é\x00b\"}")) },
        400, 'invalid_request', 'parse_error',
        'JSON parse error - Invalid control character at: line 2 column 10 (char 11)', undef);
refused('a raw NUL between tokens', sub {
            $t->api(POST => "$BASE/", body => "{\"name\":\x00\"b\"}") },
        400, 'invalid_request', 'parse_error', qr/^JSON parse error - /, undef);
for my $n ('01', '1.', '-', '.5', '1e', '1.2.3', '+1') {
    refused("the number $n", sub { $t->api(POST => "$BASE/", body => "{\"name\":$n}") },
            400, 'invalid_request', 'parse_error', qr/^JSON parse error - /, undef);
}

unchanged('parse errors');

# --- "\u0000" and lone surrogates --------------------------------------------

my $NUL = 'Null characters are not allowed.';

refused('"\u0000" in a name', sub { $t->api(POST => "$BASE/", body => '{"name":"a\u0000b"}') },
        400, 'validation_error', 'null_characters_not_allowed', $NUL, 'name');
refused('"\u0000" alone', sub { $t->api(PATCH => "$BASE/$d/", body => '{"name":"\u0000"}') },
        400, 'validation_error', 'null_characters_not_allowed', $NUL, 'name');
refused('"\u0000" in a description', sub { $t->api(PATCH => "$BASE/$d/", body => '{"description":"x\u0000"}') },
        400, 'validation_error', 'null_characters_not_allowed', $NUL, 'description');
refused('"\u0000" in a tag', sub { $t->api(POST => "$BASE/", body => '{"name":"t","tags":["ok","b\u0000"]}') },
        400, 'validation_error', 'null_characters_not_allowed', $NUL, 'tags__1');
refused('"\u0000" in a text tile body', sub {
            $t->api(POST => "$BASE/$d/create_text_tile/", body => '{"body":"a\u0000"}') },
        400, 'validation_error', 'null_characters_not_allowed', $NUL, 'body');
refused('"\u0000" in a tile text through PATCH', sub {
            $t->api(PATCH => "$BASE/$d/", body => qq({"tiles":[{"id":$tile,"text":{"body":"\\u0000"}}]})) },
        400, 'validation_error', 'null_characters_not_allowed', $NUL, 'tiles__0__text__body');
refused('"\u0000" in bulk_update_tags', sub {
            $t->api(POST => "$BASE/bulk_update_tags/", body => qq({"ids":[$d],"action":"add","tags":["\\u0000"]})) },
        400, 'validation_error', 'null_characters_not_allowed', $NUL, 'tags__0');
# JSON kept as sent: jsonb cannot hold U+0000 (PostHog answers 500)
refused('"\u0000" inside filters', sub {
            $t->api(PATCH => "$BASE/$d/", body => '{"filters":{"a":["\u0000"]}}') },
        400, 'validation_error', 'null_characters_not_allowed', $NUL, 'filters');
refused('"\u0000" in a key inside layouts', sub {
            $t->api(PATCH => "$BASE/$d/", body => qq({"tiles":[{"id":$tile,"layouts":{"s\\u0000m":{}}}]})) },
        400, 'validation_error', 'null_characters_not_allowed', $NUL, 'tiles__0__layouts');
refused('"\u0000" in create_unlisted_dashboard', sub {
            $t->api(POST => "$BASE/create_unlisted_dashboard/", body => '{"tile":"\u0000"}') },
        400, 'validation_error', 'null_characters_not_allowed', $NUL, undef);

refused('a lone high surrogate', sub { $t->api(POST => "$BASE/", body => '{"name":"a\ud800b"}') },
        400, 'validation_error', 'surrogate_characters_not_allowed',
        'Surrogate characters are not allowed: U+D800.', 'name');
refused('a lone low surrogate', sub { $t->api(POST => "$BASE/", body => '{"name":"\uDC01"}') },
        400, 'validation_error', 'surrogate_characters_not_allowed',
        'Surrogate characters are not allowed: U+DC01.', 'name');
refused('two high surrogates', sub { $t->api(POST => "$BASE/", body => '{"name":"\ud83d\ud83d\ude00"}') },
        400, 'validation_error', 'surrogate_characters_not_allowed',
        'Surrogate characters are not allowed: U+D83D.', 'name');
refused('U+0000 before a surrogate: the null validator runs first', sub {
            $t->api(POST => "$BASE/", body => '{"name":"\ud800\u0000"}') },
        400, 'validation_error', 'null_characters_not_allowed', $NUL, 'name');
refused('a lone surrogate in filters', sub {
            $t->api(PATCH => "$BASE/$d/", body => '{"filters":{"\udfff":1}}') },
        400, 'validation_error', 'surrogate_characters_not_allowed',
        'Surrogate characters are not allowed: U+DFFF.', 'filters');
refused('"\u0000" in an invalid choice', sub {
            $t->api(POST => "$BASE/bulk_update_tags/", body => qq({"ids":[$d],"action":"a\\u0000"})) },
        400, 'validation_error', 'invalid_choice', "\"a\x{0}\" is not a valid choice.", 'action');
refused('a lone surrogate in an invalid choice', sub {
            $t->api(POST => "$BASE/bulk_update_tags/", body => qq({"ids":[$d],"action":"a\\ud800"})) },
        400, 'validation_error', 'invalid_choice', "\"a\x{fffd}\" is not a valid choice.", 'action');

unchanged('"\u0000" and lone surrogates');

{
    my $r = $t->api(POST => "$BASE/", body => '{"name":"\ud83d\ude00 \u00e9\\\\u0000"}');
    is $r->{status}, 201, 'a surrogate pair, é and an escaped backslash: 201' or diag $r->{raw};
    is $r->{json}{name}, "\x{1F600} é\\u0000", 'name as Python reads it';
    is $t->sql_value('SELECT name FROM posthog_dashboard WHERE id = $1', $r->{json}{id}),
       "\x{1F600} é\\u0000", 'stored as sent';
    $t->sql('DELETE FROM posthog_dashboard WHERE id = $1', $r->{json}{id});
}

# the API key: the whole of it is hashed
{
    my $key = $w->{key};
    my $before = db_state();
    my $r = $t->api(POST => "$BASE/", key => undef,
                    body => qq({"personal_api_key":"$key\\u0000junk","name":"k"}));
    is_error($r, 401, 'authentication_error', 'authentication_failed',
             'Personal API key found in request body is invalid.', undef, 'key with "\u0000junk" in the body');
    $r = $t->api(GET => "$BASE/?personal_api_key=$key%00junk", key => undef);
    is_error($r, 401, 'authentication_error', 'authentication_failed',
             'Personal API key found in request query string is invalid.', undef, 'key with %00junk in the query');
    is db_state(), $before, 'keys with junk after a NUL: database unchanged';
    $r = $t->api(POST => "$BASE/", key => undef, body => qq({"personal_api_key":"$key","name":"k"}));
    is $r->{status}, 201, 'the key itself in the body still authenticates' or diag $r->{raw};
    $t->sql('DELETE FROM posthog_dashboard WHERE id = $1', $r->{json}{id}) if $r->{json};
}

# --- query strings: decoded as Django does -----------------------------------

my $fffd = $t->fixture_dashboard(team => $P, user => $w->{user}, name => "odd \x{FFFD} name",
                                 tags => ["t\x{FFFD}g"]);
my $acc = $t->fixture_dashboard(team => $P, user => $w->{user}, name => "Café");

sub names { [ sort map { $_->{name} } @{ $_[0]{json}{results} // [] } ] }

$state = db_state();

for my $case ([ 'search=%FF',             ["odd \x{FFFD} name"] ],
              [ 'search=odd%20%FF',       ["odd \x{FFFD} name"] ],
              [ 'search=%EF%BF%BD',       ["odd \x{FFFD} name"] ],
              [ 'search=caf%C3%A9',       ['Café'] ],
              [ 'search=caf%C3',          [] ],
              [ 'tags=t%FFg',             ["odd \x{FFFD} name"] ],
              [ 'tags=t%E2%82g',          ["odd \x{FFFD} name"] ],
              [ 'tags=t%ED%A0%80g',       [] ],
              [ 'creation_mode=%FF',      [] ],
              [ 'creation_mode=%C3%28',   [] ])
{
    my ($q, $want) = @$case;
    my $r = $t->api(GET => "$BASE/?$q");
    is $r->{status}, 200, "GET ?$q: 200" or diag $r->{raw};
    is_deeply names($r), $want, "GET ?$q: the dashboards";
}

unchanged('lists with query strings that are not UTF-8');

# (a retrieve writes last_accessed_at)

{
    my $r = $t->api(GET => "$BASE/$d/?filters_override=" . '%7B%22a%22%3A%22%FF%22%7D');
    is $r->{status}, 200, 'filters_override with %FF inside a string: 200' or diag $r->{raw};
    is $r->{json}{filters}{a}, "\x{FFFD}", 'filters_override: U+FFFD';
    $r = $t->api(GET => "$BASE/$d/?filters_override=%FF");
    is_error($r, 400, 'validation_error', 'invalid_input',
             'Invalid JSON passed in filters_override parameter', 'filters_override',
             'filters_override=%FF');
    $r = $t->api(GET => "$BASE/$d/?filters_override=" . '%7B%22a%22%3A%22%00%22%7D');
    is_error($r, 400, 'validation_error', 'invalid_input',
             'Invalid JSON passed in filters_override parameter', 'filters_override',
             'filters_override with a raw NUL in a string');
    $r = $t->api(GET => "$BASE/$d/?filters_override=" . '%7B%22a%22%3A%22%5Cu0000%22%7D');
    is_error($r, 400, 'validation_error', 'null_characters_not_allowed', $NUL, 'filters_override',
             'filters_override with "\u0000"');
    $r = $t->api(GET => "$BASE/$d/?filters_override=" . '%7B%22n%22%3A12345678901234567890%2C%22f%22%3A0.1%7D');
    is $r->{status}, 200, 'filters_override with numbers: 200' or diag $r->{raw};
    like $r->{raw}, qr/"n" ?: ?12345678901234567890\b/, 'filters_override: a 20-digit integer as sent';
    like $r->{raw}, qr/"f" ?: ?0\.1\b/, 'filters_override: 0.1 as sent';
}

# %00: PostgreSQL's text cannot hold it (PostHog answers 500)
for my $p ('search', 'tags', 'creation_mode') {
    my $r = $t->api(GET => "$BASE/?$p=a%00b");
    is_error($r, 400, 'validation_error', 'null_characters_not_allowed', $NUL, $p, "?$p=a%00b");
}

# repeated parameters: the last one, as QueryDict.get()
{
    my $r = $t->api(GET => "$BASE/?search=nothing&search=Caf");
    is_deeply names($r), ['Café'], 'search twice: the last one';
    $r = $t->api(GET => "$BASE/?format=xml&format=json");
    is $r->{status}, 200, 'format twice: the last one (json)' or diag $r->{raw};
    $r = $t->api(GET => "$BASE/?format=json&format=xml");
    is $r->{status}, 404, 'format twice: the last one (xml)';
    $r = $t->api(GET => "$BASE/?limit=1&limit=2");
    is scalar @{ $r->{json}{results} }, 2, 'limit twice: the last one';
    $r = $t->api(GET => "$BASE/?tags=nope&tags=t%EF%BF%BDg");
    is_deeply names($r), ["odd \x{FFFD} name"], 'tags twice: both';
    $r = $t->api(GET => "$BASE/?sea%72ch=Caf");
    is_deeply names($r), ['Café'], 'a percent-encoded parameter name';
    $r = $t->api(GET => "$BASE/?search=Caf;search=nothing");
    is $r->{status}, 200, '";" does not separate parameters (Python 3.9.2+): 200';
    is_deeply names($r), [], '";" does not separate parameters: one search "Caf;search=nothing"';
}

# --- repeated keys and numbers in bodies --------------------------------------

{
    my $r = $t->api(POST => "$BASE/", body => '{"name":"first","pinned":true,"name":"second"}');
    is $r->{status}, 201, 'a key given twice: 201' or diag $r->{raw};
    is $r->{json}{name}, 'second', 'a key given twice: the last value';
    is $t->sql_value('SELECT name FROM posthog_dashboard WHERE id = $1', $r->{json}{id}), 'second',
       'a key given twice: the last value stored';
    $r = $t->api(PATCH => "$BASE/$d/",
                 body => '{"filters":{"a":1,"b":2,"a":3,"a":{"x":1,"x":[5]}},"description":"d"}');
    is $r->{status}, 200, 'keys given twice inside filters: 200' or diag $r->{raw};
    is_deeply $t->sql_value(q{SELECT filters::text FROM posthog_dashboard WHERE id = $1}, $d),
       '{"a": {"x": [5]}, "b": 2}', 'inside filters: the last values';
    my @many = map { qq("k$_":$_) } 1 .. 40;
    $r = $t->api(PATCH => "$BASE/$d/", body => '{"filters":{' . join(',', @many, '"k7":"last"') . '}}');
    is $r->{status}, 200, 'a repeated key among 41: 200' or diag $r->{raw};
    is $t->sql_value(q{SELECT filters->>'k7' FROM posthog_dashboard WHERE id = $1}, $d), 'last',
       'a repeated key among 41: the last value';
    is $t->sql_value(q{SELECT count(*) FROM jsonb_object_keys((SELECT filters FROM posthog_dashboard WHERE id = $1))}, $d),
       40, 'a repeated key among 41: 40 keys';
}

# a number for a string is Python's str() of it
for my $case ([ '0.1', '0.1' ], [ '1.0', '1.0' ], [ '1e2', '100.0' ], [ '-0', '0' ],
              [ '-0.0', '-0.0' ], [ '12345678901234567890', '12345678901234567890' ],
              [ '1e16', '1e+16' ], [ '1E15', '1000000000000000.0' ], [ '0.00001', '1e-05' ],
              [ '0.0001', '0.0001' ], [ '2.5E-7', '2.5e-07' ], [ '1e999', 'inf' ],
              [ '-1e999', '-inf' ], [ '0.30000000000000004', '0.30000000000000004' ],
              [ '123.456', '123.456' ])
{
    my ($n, $want) = @$case;
    my $r = $t->api(PATCH => "$BASE/$d/", body => qq({"name":$n}));
    is $r->{status}, 200, "name $n: 200" or diag $r->{raw};
    is $t->sql_value('SELECT name FROM posthog_dashboard WHERE id = $1', $d), $want, "name $n: \"$want\"";
}

# numbers for integers: int(str(value)) after a trailing ".0"
$state = db_state();
for my $case ([ '1e999',    'invalid_input', 'A valid integer is required.' ],
              [ '-1e999',   'invalid_input', 'A valid integer is required.' ],
              [ '1e16',     'invalid_input', 'A valid integer is required.' ],
              [ '1.5',      'invalid_input', 'A valid integer is required.' ],
              [ '99999999999999999999', 'max_value', 'Ensure this value is less than or equal to 2147483647.' ],
              [ '-99999999999999999999', 'min_value', 'Ensure this value is greater than or equal to -2147483648.' ],
              [ '"99999999999999999999"', 'max_value', 'Ensure this value is less than or equal to 2147483647.' ],
              [ '2147483648', 'max_value', 'Ensure this value is less than or equal to 2147483647.' ])
{
    my ($n, $code, $detail) = @$case;
    refused("data_color_theme_id $n", sub {
                $t->api(PATCH => "$BASE/$d/", body => qq({"data_color_theme_id":$n})) },
            400, 'validation_error', $code, $detail, 'data_color_theme_id');
}
unchanged('numbers refused for integers');

for my $n ('2.1e1', '21.0', '"21.00"') {
    my $r = $t->api(PATCH => "$BASE/$d/", body => qq({"restriction_level":$n}));
    is $r->{status}, 200, "restriction_level $n: 200 (21)" or diag $r->{raw};
}
refused('a float where a dictionary belongs', sub {
            $t->api(PATCH => "$BASE/$d/", body => qq({"tiles":[{"id":$tile,"layouts":1.0}]})) },
        400, 'validation_error', 'not_a_dict', 'Expected a dictionary of items but got type "float".',
        'tiles__0__layouts');
refused('an integer where a dictionary belongs', sub {
            $t->api(PATCH => "$BASE/$d/", body => qq({"tiles":[{"id":$tile,"layouts":1}]})) },
        400, 'validation_error', 'not_a_dict', 'Expected a dictionary of items but got type "int".',
        'tiles__0__layouts');

# JSON kept as sent keeps the client's digits
{
    my $r = $t->api(PATCH => "$BASE/$d/",
                    body => '{"filters":{"big":12345678901234567890,"f":0.1,"g":1.10,"inf":1e999}}');
    is $r->{status}, 200, 'numbers inside filters: 200' or diag $r->{raw};
    is $t->sql_value(q{SELECT filters::text FROM posthog_dashboard WHERE id = $1}, $d),
       '{"f": 0.1, "g": 1.10, "big": 12345678901234567890, "inf": null}',
       'numbers inside filters as sent (1e999, which jsonb cannot hold, as null)';
}

# --- validation messages are whole, and valid UTF-8 ---------------------------

$state = db_state();

for my $len (300, 1000, 5000) {
    my $long = 'é' x $len;
    my $r = $t->api(POST => "$BASE/bulk_update_tags/", body => { ids => [$d], action => $long });
    is_error($r, 400, 'validation_error', 'invalid_choice', "\"$long\" is not a valid choice.", 'action',
             "an invalid choice of $len characters");
}
{
    my $long = ('x' x 511) . '€';
    my $r = $t->api(POST => "$BASE/", body => { name => 'u', quick_filter_ids => [$long] });
    is_error($r, 400, 'validation_error', 'invalid_input', "Invalid UUID: $long", 'quick_filter_ids',
             'a message with a character across byte 512');
}

unchanged('long messages');

done_testing;
