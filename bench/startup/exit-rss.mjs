// Preloaded with `node --import` by bench/startup: when the process exits, prints its RSS (bytes)
// and the time since Node began (ms) as one JSON line on standard error.
process.on('exit', () => {
  process.stderr.write(
    `\nEXIT-RSS ${JSON.stringify({ rss: process.memoryUsage().rss, uptimeMs: Math.round(process.uptime() * 1000) })}\n`,
  );
});
