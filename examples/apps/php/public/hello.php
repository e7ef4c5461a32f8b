<?php
// A script reached by its own name: /hello.php/there → SCRIPT_NAME /hello.php, PATH_INFO /there.
header('Content-Type: text/plain');
echo 'hello from ' . $_SERVER['SCRIPT_NAME'] . ($_SERVER['PATH_INFO'] ?? '') . "\n";
