package Dash::Raw;

# Requests on raw sockets, for what api() cannot do: a request left in flight
# while the test does something else, or one read until nginx closes the
# connection.  Nothing is exported unless asked for:
#
#   use Dash::Raw qw(request send_request answered read_response);
#   my $s = send_request($t, PATCH => $path, { name => 'x' });
#   ok !answered($s, 0.2), 'no answer yet';
#   my $r = read_response($s);                  # the api() hashref
#
# Perl core only.

use strict;
use warnings;

use Encode qw(encode_utf8);
use Exporter qw(import);
use IO::Select;
use IO::Socket::INET;
use Time::HiRes qw(time);

use Dash ();

our @EXPORT_OK = qw(request send_request answered read_response);

# read_response()'s default timeout, in seconds
our $TIMEOUT = 20;

# One request on a connection of its own, read until nginx closes it: when it
# returns, whatever the request started inside nginx has finished (so the
# database checks after it are not racing a statement still in flight).
# Options as api(): body (a ref is sent as JSON), key (default $t->key; undef
# for none), headers. Returns the api() hashref.
sub request {
    my ($t, $method, $path, %o) = @_;
    my $body = $o{body};
    $body = Dash::json_encode($body) if ref $body;
    $body = encode_utf8($body) if defined $body && utf8::is_utf8($body);
    my %h = (Host => 'localhost', Connection => 'close', %{ $o{headers} // {} });
    my $key = exists $o{key} ? $o{key} : $t->key;
    $h{Authorization} = "Bearer $key" if defined $key && !exists $h{Authorization};
    if (defined $body) {
        $h{'Content-Type'} = 'application/json' unless exists $h{'Content-Type'};
        $h{'Content-Length'} = length $body;
    }
    my $head = "$method $path HTTP/1.1\r\n"
             . join('', map { "$_: $h{$_}\r\n" } grep { defined $h{$_} } sort keys %h) . "\r\n";
    return Dash::parse_response($t->http_raw($head . ($body // '')));
}

# send a request (Connection: close, the default key, $body as JSON) on a raw
# socket and return the socket without reading
sub send_request {
    my ($t, $method, $path, $body) = @_;
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $t->port, Proto => 'tcp')
        or die "connect: $!";
    binmode $s;
    my $b = defined $body ? Dash::json_encode($body) : '';
    my $req = "$method $path HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
            . "Authorization: Bearer " . $t->key . "\r\n";
    $req .= "Content-Type: application/json\r\nContent-Length: " . length($b) . "\r\n" if length $b;
    $req .= "\r\n$b";
    syswrite($s, $req) == length $req or die "write: $!";
    return $s;
}

# has the server sent anything (or closed) on this socket within $wait seconds?
sub answered {
    my ($s, $wait) = @_;
    return IO::Select->new($s)->can_read($wait // 0) ? 1 : 0;
}

# read the whole response (the server closes: Connection: close) within
# $timeout seconds ($TIMEOUT); closes the socket; returns the api() hashref
sub read_response {
    my ($s, $timeout) = @_;
    my $sel = IO::Select->new($s);
    my $buf = '';
    my $deadline = time + ($timeout // $TIMEOUT);
    while (time < $deadline) {
        last unless $sel->can_read($deadline - time);
        my $n = sysread($s, $buf, 65536, length $buf);
        last unless $n;
    }
    close $s;
    return Dash::parse_response($buf);
}

1;
