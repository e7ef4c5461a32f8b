<?php
// A second script, reached by its own name: /info.php/a/b must arrive as SCRIPT_NAME
// /info.php and PATH_INFO /a/b (the front's fastcgi_split_path_info), and answer the echo.
require __DIR__ . '/index.php';
