"""In process against real parts on loopback: the fake Cloud Logging and OTLP servers, real web
framework apps, the real collector binary (collector/) and the command line on real inputs (cli/)."""
