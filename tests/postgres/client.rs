//! A blocking SQL client for setting up test states: one sqlx connection on its own runtime,
//! so a test can hold sessions open (idle in transaction, temp tables) while it runs pgvac.

use sqlx::postgres::{PgConnectOptions, PgConnection};
use sqlx::{AssertSqlSafe, ConnectOptions, Connection, Row};

use crate::cluster::Cluster;

pub struct Client {
    runtime: tokio::runtime::Runtime,
    conn: Option<PgConnection>,
    pub pid: i32,
}

impl Client {
    pub fn connect(cluster: &Cluster, database: &str) -> Result<Client, String> {
        Client::connect_as(cluster, "postgres", database)
    }

    pub fn connect_as(cluster: &Cluster, user: &str, database: &str) -> Result<Client, String> {
        Client::connect_at(cluster.port, user, database)
    }

    /// Connect with a full URL (a role that needs its password).
    pub fn connect_url(url: &str) -> Result<Client, String> {
        use std::str::FromStr;
        let options = PgConnectOptions::from_str(url)
            .map_err(|e| e.to_string())?
            .application_name("pgvac-test")
            .disable_statement_logging();
        Client::open(options)
    }

    /// Connect as postgres with an `application_name` of the test's choosing.
    pub fn connect_named(
        cluster: &Cluster,
        database: &str,
        application_name: &str,
    ) -> Result<Client, String> {
        let options = PgConnectOptions::new_without_pgpass()
            .host("127.0.0.1")
            .port(cluster.port)
            .username("postgres")
            .database(database)
            .application_name(application_name)
            .disable_statement_logging();
        Client::open(options)
    }

    /// Connect to any server on 127.0.0.1 (a standby, say).
    pub fn connect_at(port: u16, user: &str, database: &str) -> Result<Client, String> {
        let options = PgConnectOptions::new_without_pgpass()
            .host("127.0.0.1")
            .port(port)
            .username(user)
            .database(database)
            .application_name("pgvac-test")
            .disable_statement_logging();
        Client::open(options)
    }

    fn open(options: PgConnectOptions) -> Result<Client, String> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| e.to_string())?;
        let database = options.get_database().unwrap_or("?").to_string();
        let user = options.get_username().to_string();
        let mut conn = runtime
            .block_on(options.connect())
            .map_err(|e| format!("connect to {database} as {user}: {e}"))?;
        let pid: i32 = runtime
            .block_on(async {
                sqlx::query_scalar("SELECT pg_backend_pid()")
                    .fetch_one(&mut conn)
                    .await
            })
            .map_err(|e| e.to_string())?;
        Ok(Client {
            runtime,
            conn: Some(conn),
            pid,
        })
    }

    fn conn(&mut self) -> &mut PgConnection {
        self.conn.as_mut().expect("connection open until drop")
    }

    /// Run one or more statements (simple protocol).
    pub fn execute(&mut self, sql: &str) -> Result<(), String> {
        let sql = sql.to_string();
        let Client { runtime, conn, .. } = self;
        let conn = conn.as_mut().expect("connection open until drop");
        runtime
            .block_on(async {
                sqlx::raw_sql(AssertSqlSafe(sql.clone()))
                    .execute(conn)
                    .await
            })
            .map(|_| ())
            .map_err(|e| format!("{e}\nin: {sql}"))
    }

    /// The first column of the first row, as text (NULL as None).
    pub fn text(&mut self, sql: &str) -> Result<Option<String>, String> {
        let sql = sql.to_string();
        let runtime = &self.runtime;
        let conn = self.conn.as_mut().expect("connection open until drop");
        let row = runtime
            .block_on(async {
                sqlx::raw_sql(AssertSqlSafe(sql.clone()))
                    .fetch_one(conn)
                    .await
            })
            .map_err(|e| format!("{e}\nin: {sql}"))?;
        row.try_get::<Option<String>, _>(0)
            .map_err(|e| e.to_string())
    }

    /// The first column of the first row as a number; the query should cast to text.
    pub fn number(&mut self, sql: &str) -> Result<i64, String> {
        let text = self.text(sql)?.ok_or_else(|| format!("NULL from {sql}"))?;
        text.trim()
            .parse::<i64>()
            .map_err(|e| format!("{e}: {text:?} from {sql}"))
    }

    /// Close the connection now (the session ends).
    pub fn close(mut self) {
        if let Some(conn) = self.conn.take() {
            let _ = self.runtime.block_on(conn.close());
        }
    }

    #[allow(dead_code)]
    pub fn raw(&mut self) -> &mut PgConnection {
        self.conn()
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            let _ = self.runtime.block_on(conn.close());
        }
    }
}
