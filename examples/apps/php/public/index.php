<?php
// A tiny PHP app with a front controller, as Laravel's and Symfony's public/index.php are:
// the front sends every path that names no script here, with the path as PATH_INFO.
$path = $_SERVER['PATH_INFO'] ?? '/';
header('Content-Type: application/json');
if ($path === '/health') {
    echo json_encode(['ok' => true]) . "\n";
    return;
}
echo json_encode([
    'path' => $path,
    'script' => $_SERVER['SCRIPT_NAME'] ?? '',
    'greeting' => getenv('GREETING') ?: 'hello',
], JSON_UNESCAPED_SLASHES) . "\n";
