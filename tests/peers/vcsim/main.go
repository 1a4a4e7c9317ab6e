// Command vcsim serves govmomi's vCenter simulator for IROA's tests.
//
// Debian's govmomi package ships the simulator library but no vcsim command,
// so this is the smallest wrapper the tests need. It prints the SDK URL on
// one stdout line once listening, then serves until SIGTERM or SIGINT.
package main

import (
	"crypto/tls"
	"flag"
	"fmt"
	"hash/fnv"
	"log"
	"net/url"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"

	"github.com/vmware/govmomi/simulator"
	_ "github.com/vmware/govmomi/vapi/simulator" // the REST session and tagging API
	"github.com/vmware/govmomi/vim25/types"
)

// quickFigure is a stable figure of an object's name in [low, low+span): this vcsim leaves
// summary.quickStats empty, and tests need values they can predict.
func quickFigure(name string, salt string, low int32, span uint32) int32 {
	h := fnv.New32a()
	h.Write([]byte(salt + name))
	return low + int32(h.Sum32()%span)
}

// fillQuickStats gives every powered-on VM and every host the usage figures a vCenter
// reports in summary.quickStats (see tests/peers/vcsim.py: expected_quickstats).
func fillQuickStats() {
	for _, entity := range simulator.Map.All("VirtualMachine") {
		vm := entity.(*simulator.VirtualMachine)
		if vm.Runtime.PowerState != types.VirtualMachinePowerStatePoweredOn {
			continue
		}
		stats := &vm.Summary.QuickStats
		stats.OverallCpuUsage = quickFigure(vm.Name, "cpu", 1, 2000)
		stats.GuestMemoryUsage = quickFigure(vm.Name, "guest", 1, 1000)
		stats.HostMemoryUsage = quickFigure(vm.Name, "host", 1, 1000)
		stats.UptimeSeconds = quickFigure(vm.Name, "uptime", 60, 1000000)
	}
	for _, entity := range simulator.Map.All("HostSystem") {
		host := entity.(*simulator.HostSystem)
		stats := &host.Summary.QuickStats
		stats.OverallCpuUsage = quickFigure(host.Name, "cpu", 1, 2000)
		stats.OverallMemoryUsage = quickFigure(host.Name, "memory", 1, 4000)
		stats.Uptime = quickFigure(host.Name, "uptime", 60, 1000000)
	}
}

func main() {
	m := simulator.VPX()
	flag.IntVar(&m.Datacenter, "dc", m.Datacenter, "datacenters")
	flag.IntVar(&m.Cluster, "cluster", m.Cluster, "clusters per datacenter")
	flag.IntVar(&m.ClusterHost, "host", m.ClusterHost, "hosts per cluster")
	flag.IntVar(&m.Host, "standalone-host", m.Host, "standalone hosts per datacenter")
	flag.IntVar(&m.Machine, "vm", m.Machine, "VMs per standalone host and per cluster")
	flag.IntVar(&m.Datastore, "ds", m.Datastore, "local datastores, mounted on every host")
	flag.IntVar(&m.Portgroup, "pg", m.Portgroup, "distributed portgroups per datacenter")
	flag.IntVar(&m.Folder, "folder", m.Folder, "datacenters placed inside a folder")
	flag.IntVar(&m.Pool, "pool", m.Pool, "child resource pools per cluster (they get no VMs)")
	listen := flag.String("listen", "127.0.0.1:0", "address to serve on")
	username := flag.String("username", "", "only login accepted (empty: any non-empty login)")
	password := flag.String("password", "", "password for -username")
	certFile := flag.String("tls-cert", "", "PEM certificate; serves https when set")
	keyFile := flag.String("tls-key", "", "PEM private key for -tls-cert")
	uuid := flag.String("instance-uuid", "", "about.instanceUuid (vcsim's default is a constant)")
	rest := flag.Bool("rest", true, "serve the REST session and tagging API under /rest")
	delays := flag.String("method-delay", "", "Method:ms,… answer delays, to hold a client mid-read")
	flag.Parse()

	for _, pair := range strings.Split(*delays, ",") {
		method, ms, found := strings.Cut(pair, ":")
		if !found {
			continue
		}
		delay, err := strconv.Atoi(ms)
		if err != nil {
			log.Fatalf("vcsim: -method-delay %q: %v", pair, err)
		}
		if m.DelayConfig.MethodDelay == nil {
			m.DelayConfig.MethodDelay = map[string]int{}
		}
		m.DelayConfig.MethodDelay[method] = delay
	}

	if *uuid != "" {
		m.ServiceContent.About.InstanceUuid = *uuid
	}

	if err := m.Create(); err != nil {
		log.Fatalf("vcsim: create model: %v", err)
	}
	fillQuickStats()

	m.Service.Listen = &url.URL{Host: *listen}
	m.Service.RegisterEndpoints = *rest
	if *username != "" {
		m.Service.Listen.User = url.UserPassword(*username, *password)
	}
	if *certFile != "" {
		// The simulator's built-in certificate is a 1024-bit RSA key that OpenSSL rejects.
		cert, err := tls.LoadX509KeyPair(*certFile, *keyFile)
		if err != nil {
			log.Fatalf("vcsim: load TLS key pair: %v", err)
		}
		m.Service.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	}

	server := m.Service.NewServer()
	sdk := *server.URL
	sdk.User = nil // the URL line must not leak the password into test logs
	fmt.Println(sdk.String())

	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, os.Interrupt)
	<-stop
	// No server.Close(): it waits for pending requests, and a client
	// long-polling WaitForUpdatesEx would keep us from exiting.
	m.Remove()
}
