<?php
// stackgen probe app for PHP (php-fpm), standard library only. Entry: index.php, the front
// controller every path that names no script reaches; info.php is a second script, reached
// by name (/info.php/a/b), that answers the same echo. The contract is the one the Python
// probe apps answer (templates/apps/_common/probe_contract.py, src/probes/contract.ts):
//
//   any path not below /__probe/   echo JSON: the request as the application saw it
//   /__probe/slow?ms=N             sleep N ms            /__probe/count   requests served
//   /__probe/stream?chunks=N&interval_ms=M               /__probe/pid     who answered
//   /__probe/status?code=N         answer with status N  /__probe/frame   its own security headers
//
// PHP strings are bytes: the CGI variables arrive as the front sent them (PATH_INFO decoded,
// UTF-8 when the client's path was) and are reported as the WSGI apps report their "native
// strings": UTF-8 when they decode, else read as latin-1.

const PROBE_PREFIX = '/__probe/';
const STREAM_SUFFIX = '/__probe/stream';
const JSON_TYPE = 'application/json';
const STREAM_TYPE = 'text/plain; charset=utf-8';
const ENVIRON_KEYS = [
    'SCRIPT_NAME', 'PATH_INFO', 'REMOTE_ADDR', 'SERVER_PROTOCOL', 'HTTP_PROXY',
    'HTTP_X_FORWARDED_FOR', 'HTTP_X_FORWARDED_PROTO', 'CONTENT_LENGTH', 'HTTP_TRANSFER_ENCODING',
];
const APP_SECURITY_HEADERS = [
    'X-Frame-Options' => 'DENY',
    'X-Content-Type-Options' => 'nosniff',
    'Referrer-Policy' => 'no-referrer',
];
const LIMITS = ['ms' => [0, 60000], 'chunks' => [1, 1000], 'interval_ms' => [0, 10000], 'code' => [200, 599], 'accel' => [0, 1]];
const DEFAULTS = ['ms' => 100, 'chunks' => 3, 'interval_ms' => 100, 'code' => 200, 'accel' => 0];

final class ProbeError extends Exception {}

/** Raw bytes as text: UTF-8 when they are UTF-8, else latin-1 (which never fails). */
function text(?string $raw): ?string
{
    if ($raw === null) return null;
    return preg_match('//u', $raw) === 1 ? $raw : iconv('ISO-8859-1', 'UTF-8', $raw);
}

function server(string $key): ?string
{
    return isset($_SERVER[$key]) && is_string($_SERVER[$key]) ? $_SERVER[$key] : null;
}

/** The one JSON encoding every probe app answers with: sorted keys, compact, a newline. */
function to_json($payload): string
{
    $sort = function ($v) use (&$sort) {
        if (is_array($v) && $v !== [] && array_keys($v) !== range(0, count($v) - 1)) {
            ksort($v, SORT_STRING);
            return array_map($sort, $v);
        }
        return is_array($v) ? array_map($sort, $v) : $v;
    };
    $value = $sort($payload);
    // An empty map stays a JSON object.
    return json_encode($value === [] ? new stdClass() : $value, JSON_UNESCAPED_SLASHES | JSON_PRESERVE_ZERO_FRACTION) . "\n";
}

function respond(int $code, ?string $contentType, string $body = '', array $extra = []): void
{
    http_response_code($code);
    if ($contentType !== null) {
        header('Content-Type: ' . $contentType);
        header('Content-Length: ' . strlen($body));
    }
    foreach ($extra as $name => $value) header("$name: $value");
    echo $body;
}

function respond_json($payload, int $code = 200, array $extra = []): void
{
    respond($code, JSON_TYPE, to_json($payload), ['Cache-Control' => 'no-store'] + $extra);
}

function query_int(string $name): int
{
    parse_str(server('QUERY_STRING') ?? '', $q);
    if (!isset($q[$name]) || $q[$name] === '') return DEFAULTS[$name];
    $raw = is_array($q[$name]) ? '' : (string) $q[$name];
    if (preg_match('/^[+-]?\d+$/', trim($raw)) !== 1) throw new ProbeError("$name must be an integer, got '$raw'");
    $value = (int) $raw;
    [$low, $high] = LIMITS[$name];
    if ($value < $low || $value > $high) throw new ProbeError("$name must be between $low and $high, got $value");
    return $value;
}

/** One byte per request (but /__probe/count) appended to $STACKGEN_PROBE_COUNTER: O_APPEND is atomic. */
function record_request(string $path): void
{
    $target = getenv('STACKGEN_PROBE_COUNTER');
    if (!$target || $path === PROBE_PREFIX . 'count') return;
    $f = fopen($target, 'a');
    if ($f !== false) {
        fwrite($f, '.');
        fclose($f);
    }
}

function can_write(string $dir): bool
{
    $path = @tempnam($dir, '.stackgen-probe-');
    // tempnam falls back to the system's temp dir when $dir is not writable: only a file in $dir counts.
    if ($path === false) return false;
    $ok = dirname($path) === rtrim($dir, '/') || realpath(dirname($path)) === realpath($dir);
    @unlink($path);
    return $ok;
}

function pid_payload(): array
{
    $counter = getenv('STACKGEN_PROBE_COUNTER');
    $dirs = [];
    foreach (explode(':', getenv('STACKGEN_PROBE_WRITABLE') ?: '') as $d) {
        if ($d !== '') $dirs[$d] = can_write($d);
    }
    return [
        'pid' => getmypid(),
        'uid' => posix_getuid(),
        'gid' => posix_getgid(),
        'cwd' => getcwd(),
        'writable' => [
            'cwd' => can_write(getcwd()),
            'tmp' => can_write(sys_get_temp_dir()),
            'counter_dir' => $counter ? can_write(dirname($counter)) : null,
            'dirs' => $dirs === [] ? new stdClass() : $dirs,
        ],
    ];
}

function headers_seen(): array
{
    $headers = [];
    foreach ($_SERVER as $key => $value) {
        if (is_string($value) && strncmp($key, 'HTTP_', 5) === 0)
            $headers[strtolower(str_replace('_', '-', substr($key, 5)))] = text($value);
    }
    foreach (['CONTENT_TYPE', 'CONTENT_LENGTH'] as $key) {
        if (server($key) !== null && server($key) !== '') $headers[strtolower(str_replace('_', '-', $key))] = server($key);
    }
    return $headers;
}

function scheme(): string
{
    if (server('REQUEST_SCHEME')) return server('REQUEST_SCHEME');
    return in_array(strtolower(server('HTTPS') ?? ''), ['on', '1'], true) ? 'https' : 'http';
}

function echo_payload(string $body): array
{
    $environ = [];
    foreach (ENVIRON_KEYS as $key) $environ[$key] = text(server($key));
    $port = server('SERVER_PORT');
    return [
        'app' => 'php',
        'interface' => 'php',
        'method' => server('REQUEST_METHOD'),
        'path' => text(server('PATH_INFO') ?? ''),
        'script_name' => text(server('SCRIPT_NAME') ?? ''),
        'query' => server('QUERY_STRING') ?? '',
        'headers' => headers_seen() ?: new stdClass(),
        'body_sha256' => hash('sha256', $body),
        'body_length' => strlen($body),
        'remote_addr' => server('REMOTE_ADDR'),
        'scheme' => scheme(),
        'host' => server('HTTP_HOST') ?? server('SERVER_NAME'),
        'server_port' => $port !== null && ctype_digit($port) ? (int) $port : null,
        'multiprocess' => null,
        'multithread' => null,
        'pid' => getmypid(),
        'environ' => $environ,
        'absolute_url' => null,
    ];
}

function stream_response(): void
{
    $chunks = query_int('chunks');
    $interval = query_int('interval_ms');
    $accel = query_int('accel');
    // Every PHP output buffer off (php.ini's output_buffering = 4096): each line goes to
    // php-fpm, and flush() sends it on to the front as its own FastCGI record.
    while (ob_get_level() > 0) ob_end_flush();
    http_response_code(200);
    header('Content-Type: ' . STREAM_TYPE);
    header('Cache-Control: no-store');
    if ($accel) header('X-Accel-Buffering: no');
    for ($i = 0; $i < $chunks; $i++) {
        if ($i > 0) usleep($interval * 1000);
        echo sprintf("chunk %d %.6f\n", $i, microtime(true));
        flush();
    }
}

function dispatch(): void
{
    $path = text(server('PATH_INFO') ?? '');
    record_request($path);
    $isProbe = strncmp($path, PROBE_PREFIX, strlen(PROBE_PREFIX)) === 0 || substr($path, -strlen(STREAM_SUFFIX)) === STREAM_SUFFIX;
    if (!$isProbe) {
        respond_json(echo_payload(file_get_contents('php://input')));
        return;
    }
    $name = strncmp($path, PROBE_PREFIX, strlen(PROBE_PREFIX)) === 0 ? substr($path, strlen(PROBE_PREFIX)) : 'stream';
    switch ($name) {
        case 'slow':
            $ms = query_int('ms');
            $start = microtime(true);
            usleep($ms * 1000);
            respond_json(['pid' => getmypid(), 'thread' => getmypid(), 'ms' => $ms, 'start' => $start, 'end' => microtime(true)]);
            break;
        case 'stream':
            stream_response();
            break;
        case 'count':
            $target = getenv('STACKGEN_PROBE_COUNTER');
            clearstatcache();
            respond_json(['count' => $target ? (file_exists($target) ? filesize($target) : 0) : null]);
            break;
        case 'pid':
            respond_json(pid_payload());
            break;
        case 'frame':
            respond_json(['headers' => APP_SECURITY_HEADERS], 200, APP_SECURITY_HEADERS);
            break;
        case 'status':
            $code = query_int('code');
            if ($code < 200 || $code === 204 || $code === 304) respond($code, null);
            else respond_json(['status' => $code], $code);
            break;
        default:
            respond_json(['error' => "unknown probe $path"], 404);
    }
}

try {
    dispatch();
} catch (ProbeError $e) {
    respond_json(['error' => $e->getMessage()], 400);
}
