/*
 * bench/netbench/cluster.c - the testnet's processes.
 *
 * The benchmark measures the real thing: `cairnd testnet` writes the homes
 * (one genesis, a key and a config per validator - "sync": true, as in
 * production - and the brand key files), and one `cairnd run` process per
 * validator talks to the others over loopback TCP exactly as separate
 * machines would. This file creates the testnet, starts the nodes with
 * their output in log files, waits until every API answers, and stops them
 * at the end. Each node is started with PR_SET_PDEATHSIG so that if the
 * benchmark itself dies (killed, crashed), the kernel kills its nodes too:
 * no validator outlives the run.
 *
 * Ports: a random base P on which P+I (API) and P+10+I (peers) are free
 * for every node I, checked by binding each, as the integration tests do.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "bench_limits.h"
#include "netbench.h"

static bool port_free(uint16_t port) {
  struct sockaddr_in sa;
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return false;
  memset(&sa, 0, sizeof sa);
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool ok = bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0;
  close(fd);
  return ok;
}

static uint16_t pick_base_port(unsigned nodes) {
  uint64_t seed = (uint64_t)getpid() * 2654435761u ^ (uint64_t)time(NULL);
  for (int attempt = 0; attempt < 200; attempt++) {
    seed = seed * 6364136223846793005ull + 1442695040888963407ull;
    uint16_t base = (uint16_t)(20000 + ((seed >> 33) % 2000) * 20);
    bool ok = true;
    for (unsigned i = 0; ok && i < nodes; i++)
      ok = port_free((uint16_t)(base + i)) &&
           port_free((uint16_t)(base + 10 + i));
    if (ok) return base;
  }
  return 0;
}

/* Run argv to completion with output to log (appended); its exit status,
 * or -1 if it could not run. */
static int run_wait(char *const argv[], const char *log) {
  pid_t pid = fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
      close(fd);
    }
    execv(argv[0], argv);
    _exit(127);
  }
  int st = 0;
  while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

int netbench_cluster_create(netbench_cluster *cl, const char *cairnd,
                            const char *tmp, unsigned nodes,
                            unsigned interval_ms) {
  char log[600], nodes_s[16], port_s[16], interval_s[16];
  memset(cl, 0, sizeof *cl);
  if (nodes == 0 || nodes > NETBENCH_NODES_MAX) return -1;
  cl->cairnd = cairnd;
  cl->nodes = nodes;
  snprintf(cl->dir, sizeof cl->dir, "%s/net", tmp);
  snprintf(cl->logs, sizeof cl->logs, "%s", tmp);
  cl->base_port = pick_base_port(nodes);
  if (cl->base_port == 0) {
    fprintf(stderr, "netbench: no free port range for %u nodes\n", nodes);
    return -1;
  }
  snprintf(log, sizeof log, "%s/testnet.log", tmp);
  snprintf(nodes_s, sizeof nodes_s, "%u", nodes);
  snprintf(port_s, sizeof port_s, "%u", (unsigned)cl->base_port);
  snprintf(interval_s, sizeof interval_s, "%u", interval_ms);
  char *argv[] = {(char *)cairnd, "testnet", "--dir", cl->dir,
                  "--validators", nodes_s, "--base-port", port_s,
                  "--block-interval-ms", interval_s, NULL};
  int rc = run_wait(argv, log);
  if (rc != 0) {
    fprintf(stderr, "netbench: `%s testnet` failed (status %d); see %s\n",
            cairnd, rc, log);
    return -1;
  }
  return 0;
}

static pid_t start_node(const netbench_cluster *cl, unsigned i) {
  char home[600], log[600];
  snprintf(home, sizeof home, "%s/node%u", cl->dir, i);
  snprintf(log, sizeof log, "%s/node%u.log", cl->logs, i);
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid != 0) return pid;
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != parent) _exit(1); /* the parent died before prctl */
  int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
  if (fd >= 0) {
    dup2(fd, 1);
    dup2(fd, 2);
    close(fd);
  }
  char *argv[] = {(char *)cl->cairnd, "run", "--home", home, NULL};
  execv(argv[0], argv);
  _exit(127);
}

static bool node_ready(const netbench_cluster *cl, unsigned i) {
  int status = 0;
  char *body = NULL;
  if (netbench_http_once((uint16_t)(cl->base_port + i), "GET", "/v1/status",
                         NULL, 2.0, &status, &body) != 0)
    return false;
  free(body);
  return status == 200;
}

int netbench_cluster_start(netbench_cluster *cl, double timeout_s) {
  for (unsigned i = 0; i < cl->nodes; i++) {
    cl->pid[i] = start_node(cl, i);
    if (cl->pid[i] < 0) {
      cl->pid[i] = 0;
      fprintf(stderr, "netbench: cannot start node %u\n", i);
      return -1;
    }
  }
  double deadline = bench_now() + timeout_s;
  for (unsigned i = 0; i < cl->nodes; i++) {
    while (!node_ready(cl, i)) {
      int st = 0;
      if (waitpid(cl->pid[i], &st, WNOHANG) == cl->pid[i]) {
        cl->pid[i] = 0;
        fprintf(stderr, "netbench: node %u exited at start\n", i);
        return -1;
      }
      if (bench_now() > deadline) {
        fprintf(stderr, "netbench: node %u did not answer in %.0f s\n", i,
                timeout_s);
        return -1;
      }
      usleep(50000);
    }
  }
  return 0;
}

uint64_t netbench_cluster_min_height(const netbench_cluster *cl) {
  uint64_t min = UINT64_MAX;
  for (unsigned i = 0; i < cl->nodes; i++) {
    int status = 0;
    char *body = NULL;
    uint64_t h = 0;
    if (netbench_http_once((uint16_t)(cl->base_port + i), "GET", "/v1/status",
                           NULL, 2.0, &status, &body) == 0 &&
        status == 200) {
      json_t *j = json_loads(body, 0, NULL);
      json_t *v = json_object_get(j, "height");
      if (json_is_integer(v) && json_integer_value(v) >= 0)
        h = (uint64_t)json_integer_value(v);
      json_decref(j);
    }
    free(body);
    if (h < min) min = h;
  }
  return min == UINT64_MAX ? 0 : min;
}

void netbench_cluster_stop(netbench_cluster *cl) {
  for (unsigned i = 0; i < cl->nodes; i++)
    if (cl->pid[i] > 0) kill(cl->pid[i], SIGTERM);
  double deadline = bench_now() + 10.0;
  for (unsigned i = 0; i < cl->nodes; i++) {
    while (cl->pid[i] > 0) {
      int st = 0;
      pid_t r = waitpid(cl->pid[i], &st, WNOHANG);
      if (r == cl->pid[i] || (r < 0 && errno == ECHILD)) {
        cl->pid[i] = 0;
      } else if (bench_now() > deadline) {
        kill(cl->pid[i], SIGKILL);
        waitpid(cl->pid[i], &st, 0);
        cl->pid[i] = 0;
      } else {
        usleep(20000);
      }
    }
  }
}

void netbench_cluster_tail_logs(const netbench_cluster *cl, unsigned lines) {
  for (unsigned i = 0; i < cl->nodes; i++) {
    char path[600], line[1024];
    char(*ring)[1024] = calloc(lines, sizeof *ring);
    size_t n = 0;
    snprintf(path, sizeof path, "%s/node%u.log", cl->logs, i);
    FILE *f = fopen(path, "r");
    if (f == NULL || ring == NULL) {
      if (f != NULL) fclose(f);
      free(ring);
      continue;
    }
    while (fgets(line, sizeof line, f) != NULL)
      memcpy(ring[n++ % lines], line, sizeof line);
    fclose(f);
    fprintf(stderr, "--- node%u log (last lines) ---\n", i);
    for (size_t k = n > lines ? n - lines : 0; k < n; k++)
      fputs(ring[k % lines], stderr);
    free(ring);
  }
}
