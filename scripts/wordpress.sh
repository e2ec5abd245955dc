#!/usr/bin/env bash
# shellcheck disable=SC2016 # the PHP snippets are in single quotes on purpose
# A real WordPress on loopback for the publishing tests, from Debian packages only.
#
#   scripts/wordpress.sh start   install what is missing (apt-get), start a private MariaDB and
#                                PHP's built-in web server on a free 127.0.0.1 port, install
#                                WordPress, create the users and their application passwords,
#                                check the REST API, then print the env (as `env` does).
#                                When the instance is already running it only prints the env.
#   scripts/wordpress.sh stop    stop the processes this instance started (the data is kept).
#   scripts/wordpress.sh env     print WORDPRESS_URL, WORDPRESS_ADMIN_USER, ... as KEY=VALUE lines
#                                (`eval "$(scripts/wordpress.sh env)"` or `set -a; . <(...)`).
#   scripts/wordpress.sh status  exit 0 when the instance answers, 1 otherwise.
#   scripts/wordpress.sh check   run the REST calls the publisher needs (terms, media, draft,
#                                publish, permissions), print each status, delete what it made.
#   scripts/wordpress.sh reset   stop and delete the instance's data directory.
#
# Options (environment):
#   WORDPRESS_DIR   the instance's directory (default /tmp/igny8-wordpress): database, web root,
#                   uploads, logs, pid files, credentials. One directory = one instance, so several
#                   can run side by side. Keep it short: the MariaDB socket lives in it (108 bytes).
#   WORDPRESS_PORT  a fixed web port (default: the previous one if still free, else a free one).
#
# Nothing system-wide is configured: Debian's /usr/share/wordpress is copied into the instance
# (its wp-config.php, which reads /etc/wordpress/config-<host>.php, is replaced by our own), the
# database is a private mariadbd (own datadir, socket only, no TCP port), the system MariaDB and
# Apache services that the packages bring are neither configured nor started by this script.
set -euo pipefail

WP_DIR="${WORDPRESS_DIR:-/tmp/igny8-wordpress}"
WP_SRC=/usr/share/wordpress
WEB="$WP_DIR/www"
DB_DATA="$WP_DIR/mysql"
DB_SOCK="$WP_DIR/run/mysqld.sock"
RUN="$WP_DIR/run"
LOGS="$WP_DIR/logs"
CREDS="$WP_DIR/credentials.env"
ADMIN_USER='admin'
AUTHOR_USER='author'
CONTRIBUTOR_USER='contributor'
PHP_WORKERS="${WORDPRESS_PHP_WORKERS:-4}"

PACKAGES=(wordpress wordpress-theme-twentytwentythree php-cli php-mysql php-gd php-curl php-xml
  php-mbstring php-zip php-intl mariadb-server mariadb-client curl)

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf 'wordpress.sh: %s\n' "$*" >&2; exit 1; }

ensure_packages() {
  local missing=() p
  for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  say "installing ${missing[*]} (apt-get)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# Whether the process whose pid is in file $1 runs (a zombie does not count).
pid_alive() { local s; s="$(ps -o stat= -p "$1" 2>/dev/null)" && [ -n "$s" ] && [ "${s:0:1}" != Z ]; }
alive() { [ -s "$1" ] && pid_alive "$(cat "$1")"; }

# A TCP port on 127.0.0.1 that nothing listens on.
port_free() { php -r '$s=@stream_socket_server("tcp://127.0.0.1:'"$1"'");exit($s?0:1);'; }
free_port() { php -r '$s=stream_socket_server("tcp://127.0.0.1:0");echo substr(strrchr(stream_socket_get_name($s,false),":"),1);'; }

rand_secret() { php -r 'echo bin2hex(random_bytes('"${1:-16}"'));'; }

url() { echo "http://127.0.0.1:$(cat "$RUN/port")"; }

print_env() {
  { [ -s "$CREDS" ] && [ -s "$RUN/port" ]; } || die "no instance in $WP_DIR: run '$0 start' first"
  echo "WORDPRESS_URL=$(url)"
  cat "$CREDS"
}

answers() {
  [ -s "$RUN/port" ] && alive "$RUN/mysqld.pid" && alive "$RUN/php.pid" &&
    curl -fsS -o /dev/null --max-time 10 "$(url)/wp-json/"
}

# Stops a process group we started with setsid (its leader's pid is in the file).
stop_pidfile() {
  local f="$1" pid
  [ -s "$f" ] || { rm -f "$f"; return 0; }
  pid="$(cat "$f")"
  # The whole process group (php -S forks workers), even when its leader is already gone.
  kill -TERM -- "-$pid" 2>/dev/null || true
  for _ in $(seq 1 150); do pid_alive "$pid" || break; sleep 0.2; done
  kill -KILL -- "-$pid" 2>/dev/null || true
  rm -f "$f"
}

stop_all() {
  stop_pidfile "$RUN/php.pid"
  stop_pidfile "$RUN/mysqld.pid"
}

start_db() {
  [ ${#DB_SOCK} -lt 100 ] || die "WORDPRESS_DIR is too long for a Unix socket path: $DB_SOCK"
  if [ ! -d "$DB_DATA/mysql" ]; then
    say "initialising a private MariaDB in $DB_DATA"
    rm -rf "$DB_DATA"; mkdir -p "$DB_DATA"
    mariadb-install-db --no-defaults --datadir="$DB_DATA" --user="$(id -un)" \
      --auth-root-authentication-method=normal --skip-test-db --skip-name-resolve \
      >"$LOGS/mariadb-install.log" 2>&1 || { cat "$LOGS/mariadb-install.log" >&2; die "mariadb-install-db failed"; }
  fi
  rm -f "$DB_SOCK"
  setsid mariadbd --no-defaults --datadir="$DB_DATA" --socket="$DB_SOCK" --skip-networking \
    --pid-file="$RUN/mysqld.real.pid" --user="$(id -un)" --log-error="$LOGS/mariadb.log" \
    --skip-name-resolve --innodb-buffer-pool-size=64M --innodb-log-file-size=16M \
    --character-set-server=utf8mb4 --collation-server=utf8mb4_unicode_ci \
    </dev/null >>"$LOGS/mariadb.log" 2>&1 9>&- &
  echo $! >"$RUN/mysqld.pid"

  for _ in $(seq 1 150); do
    mariadb-admin --no-defaults --socket="$DB_SOCK" -uroot ping >/dev/null 2>&1 && break
    alive "$RUN/mysqld.pid" || { tail -20 "$LOGS/mariadb.log" >&2; die "mariadbd exited"; }
    sleep 0.2
  done
  mariadb-admin --no-defaults --socket="$DB_SOCK" -uroot ping >/dev/null 2>&1 ||
    { tail -20 "$LOGS/mariadb.log" >&2; die "mariadbd did not answer"; }
  [ -s "$WP_DIR/db_password" ] || rand_secret >"$WP_DIR/db_password"
  mariadb --no-defaults --socket="$DB_SOCK" -uroot <<SQL
CREATE DATABASE IF NOT EXISTS wordpress CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
CREATE USER IF NOT EXISTS 'wordpress'@'localhost' IDENTIFIED BY '$(cat "$WP_DIR/db_password")';
GRANT ALL PRIVILEGES ON wordpress.* TO 'wordpress'@'localhost';
SQL
}

# The web root: a copy of Debian's WordPress core (refreshed when the package changes), our own
# wp-config.php, and a wp-content of the instance (themes and plugins copied, uploads).
sync_core() {
  local stamp="$WEB/.debian-wordpress-version" want
  want="$(dpkg-query -W -f='${Version}' wordpress)"
  if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    say "copying WordPress $want from $WP_SRC"
    mkdir -p "$WEB/wp-content"
    local e
    for e in "$WP_SRC"/* ; do
      case "${e##*/}" in wp-config.php|wp-content) continue ;; esac
      rm -rf "${WEB:?}/${e##*/}"; cp -a "$e" "$WEB/"
    done
    mkdir -p "$WEB/wp-content/themes" "$WEB/wp-content/plugins" "$WEB/wp-content/uploads"
    cp -a "$WP_SRC/wp-content/themes/." "$WEB/wp-content/themes/"
    cp -a "$WP_SRC/wp-content/plugins/." "$WEB/wp-content/plugins/"
    echo "$want" >"$stamp"
  fi
  # No mail transport here: WordPress's mails (new user, new site...) are dropped.
  mkdir -p "$WEB/wp-content/mu-plugins"
  cat >"$WEB/wp-content/mu-plugins/igny8-local.php" <<'PHP'
<?php
/* Plugin Name: igny8 local test instance (written by scripts/wordpress.sh) */
add_filter('pre_wp_mail', '__return_true');
PHP
}

write_config() {
  local port="$1"
  [ -s "$WP_DIR/salts.php" ] || {
    local k
    echo '<?php' >"$WP_DIR/salts.php"
    for k in AUTH_KEY SECURE_AUTH_KEY LOGGED_IN_KEY NONCE_KEY AUTH_SALT SECURE_AUTH_SALT LOGGED_IN_SALT NONCE_SALT; do
      echo "define('$k', '$(rand_secret 32)');" >>"$WP_DIR/salts.php"
    done
  }
  cat >"$WEB/wp-config.php" <<PHP
<?php
// Written by scripts/wordpress.sh on each start (the port may change). Not Debian's wp-config.php.
define('DB_NAME', 'wordpress');
define('DB_USER', 'wordpress');
define('DB_PASSWORD', '$(cat "$WP_DIR/db_password")');
define('DB_HOST', 'localhost:$DB_SOCK');
define('DB_CHARSET', 'utf8mb4');
define('DB_COLLATE', '');
\$table_prefix = 'wp_';
require __DIR__ . '/../salts.php';
define('WP_HOME', 'http://127.0.0.1:$port');
define('WP_SITEURL', 'http://127.0.0.1:$port');
// Application passwords need HTTPS or the 'local' environment type.
define('WP_ENVIRONMENT_TYPE', 'local');
define('WP_DEBUG', true);
define('WP_DEBUG_DISPLAY', false);
define('WP_DEBUG_LOG', '$LOGS/wp-debug.log');
define('DISABLE_WP_CRON', true);
define('AUTOMATIC_UPDATER_DISABLED', true);
define('WP_AUTO_UPDATE_CORE', false);
define('WP_HTTP_BLOCK_EXTERNAL', true);
define('FS_METHOD', 'direct');
if (!defined('ABSPATH')) define('ABSPATH', __DIR__ . '/');
require_once ABSPATH . 'wp-settings.php';
PHP
  # php -S has no mod_rewrite: this router sends what is not a file to index.php (pretty permalinks).
  cat >"$WP_DIR/router.php" <<'PHP'
<?php
$root = rtrim($_SERVER['DOCUMENT_ROOT'], '/');
$path = urldecode(parse_url($_SERVER['REQUEST_URI'], PHP_URL_PATH) ?? '/');
if ($path !== '/' && strpos($path, '..') === false && file_exists($root . $path)) {
    return false; // a static file, a PHP script, or a directory with an index.php
}
$_SERVER['SCRIPT_NAME'] = $_SERVER['PHP_SELF'] = '/index.php';
$_SERVER['SCRIPT_FILENAME'] = $root . '/index.php';
chdir($root);
require $root . '/index.php';
PHP
}

# Installs WordPress in the database (once), upgrades it after a package update, sets the
# permalinks, makes sure both users exist, and prints their application passwords (kept when the
# ones already in credentials.env still verify, created anew otherwise).
wp_setup() {
  local port="$1"
  cat >"$WP_DIR/setup.php" <<'PHP'
<?php
$port = getenv('WP_PORT');
$_SERVER['HTTP_HOST'] = "127.0.0.1:$port";
$_SERVER['SERVER_NAME'] = '127.0.0.1';
$_SERVER['SERVER_PORT'] = $port;
$_SERVER['REQUEST_URI'] = '/';
$_SERVER['REQUEST_METHOD'] = 'GET';
define('WP_INSTALLING', true);
require getenv('WP_WEB') . '/wp-load.php';
require_once ABSPATH . 'wp-admin/includes/upgrade.php';
require_once ABSPATH . 'wp-admin/includes/user.php';

function fail($what) { fwrite(STDERR, "setup.php: $what\n"); exit(1); }

if (!is_blog_installed()) {
    $r = wp_install('igny8 test WordPress', getenv('WP_ADMIN_USER'), 'admin@example.test', false, '',
                    getenv('WP_ADMIN_PASSWORD'));
    if (is_wp_error($r)) fail($r->get_error_message());
} else {
    wp_upgrade(); // a no-op unless the Debian package brought a new database version
}
update_option('permalink_structure', '/%postname%/');
update_option('blogdescription', 'Local WordPress for the igny8 tests');
flush_rewrite_rules(false);

$users = [
    'ADMIN' => [getenv('WP_ADMIN_USER'), 'administrator', getenv('WP_ADMIN_PASSWORD')],
    'AUTHOR' => [getenv('WP_AUTHOR_USER'), 'author', getenv('WP_AUTHOR_PASSWORD')],
    'CONTRIBUTOR' => [getenv('WP_CONTRIBUTOR_USER'), 'contributor', getenv('WP_CONTRIBUTOR_PASSWORD')],
];
$app = 'igny8-tests';
foreach ($users as $key => [$login, $role, $password]) {
    $user = get_user_by('login', $login);
    if (!$user) {
        $id = wp_insert_user(['user_login' => $login, 'user_pass' => $password,
            'user_email' => "$login@example.test", 'role' => $role, 'display_name' => ucfirst($login)]);
        if (is_wp_error($id)) fail($id->get_error_message());
        $user = get_user_by('id', $id);
    } else {
        if (!wp_check_password($password, $user->user_pass, $user->ID)) wp_set_password($password, $user->ID);
        if (!in_array($role, (array) $user->roles, true)) $user->set_role($role);
    }
    $known = getenv("WP_{$key}_APP_PASSWORD");
    $keep = false;
    foreach (WP_Application_Passwords::get_user_application_passwords($user->ID) as $item) {
        if ($item['name'] !== $app) continue;
        if ($known && !$keep && wp_check_password($known, $item['password'], $user->ID)) { $keep = true; continue; }
        WP_Application_Passwords::delete_application_password($user->ID, $item['uuid']);
    }
    if (!$keep) {
        $r = WP_Application_Passwords::create_new_application_password($user->ID, ['name' => $app]);
        if (is_wp_error($r)) fail($r->get_error_message());
        $known = $r[0];
    }
    echo "WORDPRESS_{$key}_USER=$login\n";
    echo "WORDPRESS_{$key}_PASSWORD=$password\n";
    echo "WORDPRESS_{$key}_APP_PASSWORD=$known\n";
}
PHP
  local key pw
  # Passwords already issued (credentials.env) are passed back in, so that they are kept.
  for key in ADMIN AUTHOR CONTRIBUTOR; do
    pw="$(sed -n "s/^WORDPRESS_${key}_PASSWORD=//p" "$CREDS" 2>/dev/null || true)"
    export "WP_${key}_PASSWORD=${pw:-$(rand_secret 12)}"
    export "WP_${key}_APP_PASSWORD=$(sed -n "s/^WORDPRESS_${key}_APP_PASSWORD=//p" "$CREDS" 2>/dev/null || true)"
  done
  WP_PORT="$port" WP_WEB="$WEB" WP_ADMIN_USER="$ADMIN_USER" WP_AUTHOR_USER="$AUTHOR_USER" \
    WP_CONTRIBUTOR_USER="$CONTRIBUTOR_USER" php -d display_errors=stderr -d memory_limit=256M "$WP_DIR/setup.php" >"$CREDS.new"
  mv "$CREDS.new" "$CREDS"
}

start_web() {
  local port="$1"
  # Several workers so that a request that calls back into the site cannot deadlock it.
  PHP_CLI_SERVER_WORKERS="$PHP_WORKERS" setsid php \
    -d upload_max_filesize=64M -d post_max_size=64M -d memory_limit=256M \
    -d max_execution_time=120 -d display_errors=0 -d log_errors=1 \
    -S "127.0.0.1:$port" -t "$WEB" "$WP_DIR/router.php" \
    </dev/null >>"$LOGS/php-server.log" 2>&1 9>&- &
  echo $! >"$RUN/php.pid"

  for _ in $(seq 1 100); do
    curl -fsS -o /dev/null --max-time 5 "http://127.0.0.1:$port/wp-json/" 2>/dev/null && return 0
    alive "$RUN/php.pid" || { tail -20 "$LOGS/php-server.log" >&2; die "php -S exited (port $port taken?)"; }
    sleep 0.2
  done
  tail -20 "$LOGS/php-server.log" >&2; die "WordPress did not answer on port $port"
}

# Checks that the application passwords authenticate (and the author is no administrator).
verify() {
  local base; base="$(url)"
  # shellcheck disable=SC1090
  . "$CREDS"
  curl -fsS --max-time 20 -u "$WORDPRESS_ADMIN_USER:$WORDPRESS_ADMIN_APP_PASSWORD" \
    "$base/wp-json/wp/v2/users/me?context=edit" | grep -q '"manage_options":true' ||
    die "the admin's application password does not authenticate"
  curl -fsS --max-time 20 -u "$WORDPRESS_AUTHOR_USER:$WORDPRESS_AUTHOR_APP_PASSWORD" \
    "$base/wp-json/wp/v2/users/me?context=edit" | grep -q '"roles":\["author"\]' ||
    die "the author's application password does not authenticate"
  curl -fsS --max-time 20 -u "$WORDPRESS_CONTRIBUTOR_USER:$WORDPRESS_CONTRIBUTOR_APP_PASSWORD" \
    "$base/wp-json/wp/v2/users/me?context=edit" | grep -q '"roles":\["contributor"\]' ||
    die "the contributor's application password does not authenticate"
}

# `check`: the REST calls the publisher makes, against the running instance, each printed with its
# status code; exits non-zero at the first unexpected status. Deletes what it created.
check() {
  answers || die "the WordPress in $WP_DIR does not answer: run '$0 start' first"
  local base; base="$(url)"
  # shellcheck disable=SC1090
  . "$CREDS"
  local admin="$WORDPRESS_ADMIN_USER:$WORDPRESS_ADMIN_APP_PASSWORD" out="$RUN/check.json"
  local author="$WORDPRESS_AUTHOR_USER:$WORDPRESS_AUTHOR_APP_PASSWORD"
  local contributor="$WORDPRESS_CONTRIBUTOR_USER:$WORDPRESS_CONTRIBUTOR_APP_PASSWORD"
  call() { # expected-status description curl-args...
    local want="$1" what="$2" got; shift 2
    got="$(curl -sS --max-time 60 -o "$out" -w '%{http_code}' "$@")"
    printf '%-4s %s %s\n' "$got" "$what" "$(head -c 120 "$out" | tr -d '\n')"
    [ "$got" = "$want" ] || die "$what: expected HTTP $want, got $got"
  }
  field() { php -r '$d=json_decode(file_get_contents($argv[1]),true); echo $d[$argv[2]];' "$out" "$1"; }
  local json=(-H 'Content-Type: application/json')
  call 200 "GET /wp-json/" "$base/wp-json/"
  call 200 "GET /?rest_route=/" "$base/?rest_route=/"
  call 200 "GET settings (admin)" -u "$admin" "$base/wp-json/wp/v2/settings"
  call 200 "GET users/me (admin)" -u "$admin" "$base/wp-json/wp/v2/users/me?context=edit"
  call 401 "GET users/me (wrong app password)" -u "$WORDPRESS_ADMIN_USER:xxxxxxxxxxxxxxxxxxxxxxxx" "$base/wp-json/wp/v2/users/me"
  call 200 "GET users/me (author)" -u "$author" "$base/wp-json/wp/v2/users/me?context=edit"
  call 201 "POST categories" -u "$admin" "${json[@]}" -d "{\"name\":\"check $$\"}" "$base/wp-json/wp/v2/categories"
  local cat; cat="$(field id)"
  call 201 "POST tags" -u "$admin" "${json[@]}" -d "{\"name\":\"check $$\"}" "$base/wp-json/wp/v2/tags"
  local tag; tag="$(field id)"
  # A 1x1 PNG.
  printf '\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89\0\0\0\rIDATx\x9cc\xf8\xff\xff?\0\x05\xfe\x02\xfe\xa7\x35\x81\x84\0\0\0\0IEND\xaeB`\x82' >"$RUN/check.png"
  call 201 "POST media" -u "$admin" -H 'Content-Type: image/png' \
    -H "Content-Disposition: attachment; filename=check-$$.png" --data-binary "@$RUN/check.png" "$base/wp-json/wp/v2/media"
  local media; media="$(field id)"
  call 201 "POST posts (draft)" -u "$admin" "${json[@]}" \
    -d "{\"title\":\"check $$\",\"content\":\"<p>body</p>\",\"status\":\"draft\",\"categories\":[$cat],\"tags\":[$tag],\"featured_media\":$media}" \
    "$base/wp-json/wp/v2/posts"
  local post; post="$(field id)"
  call 200 "POST posts/$post (publish)" -u "$admin" "${json[@]}" -d '{"status":"publish"}' "$base/wp-json/wp/v2/posts/$post"
  call 200 "GET the published post" "$(field link)"
  call 403 "POST posts/$post (author edits the admin's post)" -u "$author" "${json[@]}" -d '{"title":"x"}' "$base/wp-json/wp/v2/posts/$post"
  call 403 "POST posts (contributor publishes)" -u "$contributor" "${json[@]}" -d '{"title":"x","status":"publish"}' "$base/wp-json/wp/v2/posts"
  call 200 "DELETE posts/$post" -u "$admin" -X DELETE "$base/wp-json/wp/v2/posts/$post?force=true"
  call 200 "DELETE media/$media" -u "$admin" -X DELETE "$base/wp-json/wp/v2/media/$media?force=true"
  call 200 "DELETE categories/$cat" -u "$admin" -X DELETE "$base/wp-json/wp/v2/categories/$cat?force=true"
  call 200 "DELETE tags/$tag" -u "$admin" -X DELETE "$base/wp-json/wp/v2/tags/$tag?force=true"
  say "all checks passed against $base"
}

start() {
  ensure_packages
  mkdir -p "$WP_DIR" "$RUN" "$LOGS"
  if answers; then print_env; return 0; fi
  stop_all # whatever half of a previous run is left
  local t0=$SECONDS port=""
  if [ -n "${WORDPRESS_PORT:-}" ]; then
    port="$WORDPRESS_PORT"
  elif [ -s "$RUN/port" ] && port_free "$(cat "$RUN/port")"; then
    port="$(cat "$RUN/port")"
  else
    port="$(free_port)"
  fi
  port_free "$port" || die "port $port is taken"
  echo "$port" >"$RUN/port"
  start_db
  sync_core
  write_config "$port"
  wp_setup "$port"
  start_web "$port"
  verify
  say "WordPress $(php -r 'include "'"$WEB"'/wp-includes/version.php"; echo $wp_version;') on http://127.0.0.1:$port ($((SECONDS - t0)) s)"
  print_env
}

cmd="${1:-}"
case "$cmd" in
  start|stop|env|status|check|reset) ;;
  *) echo "usage: $0 start|stop|env|status|check|reset" >&2; exit 2 ;;
esac
mkdir -p "$WP_DIR"
exec 9>"$WP_DIR/.lock"
flock 9
case "$cmd" in
  start) start ;;
  stop) stop_all; say "stopped the WordPress in $WP_DIR" ;;
  env) print_env ;;
  status) answers ;;
  check) check ;;
  reset) stop_all; rm -rf "$WP_DIR"; say "deleted $WP_DIR" ;;
esac
