package kubeletstandin

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// CAFileName is the name of the CA certificate NewCA writes in its directory.
const CAFileName = "kubelet-ca.crt"

// certValidity is how long the CA and the serving certificates are valid: longer than any
// test or sandbox session.
const certValidity = 365 * 24 * time.Hour

// CA is the certificate authority that signs a stand-in's serving certificate. The API server
// must trust it before it starts (--kubelet-certificate-authority, testenv.ClusterOptions.KubeletCA),
// so it is made first and handed to Start afterwards. Its key stays in memory.
type CA struct {
	// CertFile is the PEM file of the CA certificate: the API server's
	// --kubelet-certificate-authority.
	CertFile string

	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

// NewCA creates a CA and writes its certificate to dir/kubelet-ca.crt (CAFileName), creating dir.
func NewCA(dir string) (*CA, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("create kubelet CA in %s: %w", dir, err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: "drplan kubelet stand-in CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(certValidity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("create kubelet CA in %s: %w", dir, err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("create kubelet CA in %s: %w", dir, err)
	}
	ca := &CA{CertFile: filepath.Join(dir, CAFileName), cert: cert, key: key}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("create kubelet CA in %s: %w", dir, err)
	}
	if err := os.WriteFile(ca.CertFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		return nil, fmt.Errorf("create kubelet CA in %s: %w", dir, err)
	}
	return ca, nil
}

// Pool returns a certificate pool holding the CA, for clients that call a stand-in directly.
func (ca *CA) Pool() *x509.CertPool {
	pool := x509.NewCertPool()
	pool.AddCert(ca.cert)
	return pool
}

// servingCert issues a serving certificate for 127.0.0.1, localhost and the node's name.
func (ca *CA) servingCert(node string) (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("issue serving certificate of node %s: %w", node, err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: node},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(certValidity),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		DNSNames:     []string{"localhost", node},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("issue serving certificate of node %s: %w", node, err)
	}
	return tls.Certificate{Certificate: [][]byte{der, ca.cert.Raw}, PrivateKey: key}, nil
}

// serial is a random certificate serial number.
func serial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return big.NewInt(time.Now().UnixNano())
	}
	return n
}
