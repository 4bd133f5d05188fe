{
  "targets": [
    {
      "target_name": "metallb_native",
      "sources": ["src/addon.c", "src/packet.c", "src/tcp_md5.c"],
      "cflags": ["-Wall", "-Wextra", "-O2"]
    }
  ]
}
