package Dash::Errors;

# PostHog's (DRF's) error bodies {"type","code","detail","attr"}, and the
# checks of an answer against them.  Nothing is exported unless asked for:
#
#   use Dash::Errors qw(verr denied answer_is is_error $NOT_FOUND $SERVER_ERROR);
#   answer_is $r, 400, verr('This field is required.', 'name', 'required'), 'no name';
#   is_error($r, 404, 'invalid_request', 'not_found', 'Not found.', undef, 'missing');
#
# Perl core only.

use strict;
use warnings;

use Exporter qw(import);
use Test::More ();

our @EXPORT_OK = qw(verr denied answer_is is_error $NOT_FOUND $SERVER_ERROR);

our $NOT_FOUND = { type => 'invalid_request', code => 'not_found', detail => 'Not found.', attr => undef };
our $SERVER_ERROR = { type => 'server_error', code => 'error', detail => 'A server error occurred.', attr => undef };

# a validation error: code 'invalid_input' unless given
sub verr {
    my ($detail, $attr, $code) = @_;
    return { type => 'validation_error', code => $code // 'invalid_input', detail => $detail, attr => $attr };
}

# a 403 body
sub denied {
    return { type => 'authentication_error', code => 'permission_denied', detail => $_[0], attr => undef };
}

# two tests: "$name: $status" and "$name: body" (the whole JSON body)
sub answer_is {
    my ($r, $status, $body, $name) = @_;
    local $Test::Builder::Level = $Test::Builder::Level + 1;
    Test::More::is($r->{status}, $status, "$name: $status") or Test::More::diag($r->{raw});
    Test::More::is_deeply($r->{json}, $body, "$name: body") or Test::More::diag($r->{raw});
}

# three tests: status, Content-Type application/json and the complete body;
# $detail may be a regex (then a fourth: "$name: detail matches ...")
sub is_error {
    my ($r, $status, $type, $code, $detail, $attr, $name) = @_;
    local $Test::Builder::Level = $Test::Builder::Level + 1;
    Test::More::is($r->{status}, $status, "$name: $status") or Test::More::diag($r->{raw});
    Test::More::like($r->{content_type}, qr{^application/json(?:;|$)}, "$name: Content-Type application/json");
    my $j = $r->{json};
    if (ref $detail eq 'Regexp') {
        Test::More::ok(ref $j eq 'HASH' && !ref $j->{detail} && ($j->{detail} // '') =~ $detail,
                       "$name: detail matches $detail") or Test::More::diag($r->{raw});
        $j = { %$j, detail => 'matched' } if ref $j eq 'HASH';
        $detail = 'matched';
    }
    Test::More::is_deeply($j, { type => $type, code => $code, detail => $detail, attr => $attr }, "$name: body")
        or Test::More::diag($r->{raw});
}

1;
