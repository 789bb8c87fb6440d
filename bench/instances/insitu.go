package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/insitu-cloud/insitu/bench/internal/benchnode"
)

// cloud is the insitu side: clients, the registered image and a group
// that lets port 80 in.
type cloud struct {
	ec2   *ec2.Client
	ami   string
	group string
	itype string
	// seqPoll: poll port 80 one request at a time (see waitPage).
	seqPoll bool
}

// sample is one instance's timings from the RunInstances call.
type sample struct {
	running, console, http time.Duration
	rssKiB                 int64
	// cpu: the QEMU process's CPU time (user+system) once port 80 answered.
	cpu time.Duration
}

func setup(ctx context.Context, node *benchnode.Node, cfg *config) (*cloud, error) {
	creds := credentials.NewStaticCredentialsProvider(node.AccessKey, node.SecretKey, "")
	s3c := s3.New(s3.Options{Region: "us-east-1", Credentials: creds, BaseEndpoint: aws.String(node.Endpoint), UsePathStyle: true})
	if _, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("images")}); err != nil {
		return nil, err
	}
	var m struct{ Kernel, Initrd, Root string }
	raw, err := os.ReadFile(filepath.Join(cfg.image, "manifest.json"))
	if err == nil {
		err = json.Unmarshal(raw, &m)
	}
	if err != nil {
		return nil, fmt.Errorf("manifest: %w", err)
	}
	// The files the manifest names (the kernel was vmlinuz, is vmlinux).
	for _, f := range []string{"manifest.json", m.Kernel, m.Initrd, m.Root} {
		if f == "" {
			continue
		}
		if err := upload(ctx, s3c, filepath.Join(cfg.image, f), "tiny/"+f); err != nil {
			return nil, err
		}
	}
	c := &cloud{itype: cfg.itype, seqPoll: cfg.seqPoll, ec2: ec2.New(ec2.Options{Region: "us-east-1", Credentials: creds,
		BaseEndpoint: aws.String(node.Endpoint + "/services/compute")})}
	reg, err := c.ec2.RegisterImage(ctx, &ec2.RegisterImageInput{Name: aws.String("tiny"), ImageLocation: aws.String("images/tiny/manifest.json")})
	if err != nil {
		return nil, fmt.Errorf("register-image: %w", err)
	}
	c.ami = aws.ToString(reg.ImageId)
	sg, err := c.ec2.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{GroupName: aws.String("web"), Description: aws.String("port 80")})
	if err != nil {
		return nil, err
	}
	c.group = aws.ToString(sg.GroupId)
	_, err = c.ec2.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: sg.GroupId,
		IpProtocol: aws.String("tcp"), FromPort: aws.Int32(80), ToPort: aws.Int32(80), CidrIp: aws.String("0.0.0.0/0")})
	return c, err
}

func upload(ctx context.Context, c *s3.Client, path, key string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	_, err = c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("images"), Key: aws.String(key), Body: f, ContentLength: aws.Int64(fi.Size())})
	return err
}

// rounds launches total instances, conc at a time, measures each and
// terminates it.
func (c *cloud) rounds(ctx context.Context, total, conc int) ([]sample, error) {
	var out []sample
	for len(out) < total {
		batch := min(conc, total-len(out))
		got, err := c.batch(ctx, batch)
		if err != nil {
			return out, err
		}
		out = append(out, got...)
	}
	return out, nil
}

func (c *cloud) batch(ctx context.Context, n int) ([]sample, error) {
	res := make([]sample, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res[i], errs[i] = c.one(ctx)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return res, nil
}

// one launches an instance and measures it, then terminates it.
func (c *cloud) one(ctx context.Context) (sample, error) {
	var s sample
	start := time.Now()
	run, err := c.ec2.RunInstances(ctx, &ec2.RunInstancesInput{ImageId: aws.String(c.ami), InstanceType: ec2types.InstanceType(c.itype),
		MinCount: aws.Int32(1), MaxCount: aws.Int32(1), SecurityGroupIds: []string{c.group}})
	if err != nil {
		return s, fmt.Errorf("run-instances: %w", err)
	}
	id := aws.ToString(run.Instances[0].InstanceId)
	defer c.ec2.TerminateInstances(context.WithoutCancel(ctx), &ec2.TerminateInstancesInput{InstanceIds: []string{id}})
	ctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	ip, err := c.waitRunning(ctx, id)
	if err != nil {
		return s, err
	}
	s.running = time.Since(start)
	var wg sync.WaitGroup
	var cerr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		cerr = poll(ctx, 50*time.Millisecond, func() bool { return c.consoleStarted(ctx, id) })
		s.console = time.Since(start)
	}()
	herr := waitPage(ctx, ip, id, !c.seqPoll)
	s.http = time.Since(start)
	wg.Wait()
	s.rssKiB = rssOf(id)
	s.cpu = cpuOf(id)
	return s, cmpErr(herr, cerr, id)
}

func cmpErr(herr, cerr error, id string) error {
	if herr != nil {
		return fmt.Errorf("%s: port 80: %w", id, herr)
	}
	if cerr != nil {
		return fmt.Errorf("%s: console: %w", id, cerr)
	}
	return nil
}

func (c *cloud) waitRunning(ctx context.Context, id string) (string, error) {
	ip := ""
	err := poll(ctx, 50*time.Millisecond, func() bool {
		out, err := c.ec2.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{id}})
		if err != nil || len(out.Reservations) != 1 || len(out.Reservations[0].Instances) != 1 {
			return false
		}
		in := out.Reservations[0].Instances[0]
		ip = aws.ToString(in.PublicIpAddress)
		return in.State != nil && in.State.Name == ec2types.InstanceStateNameRunning
	})
	if err != nil {
		return "", fmt.Errorf("%s: waiting for running: %w", id, err)
	}
	return ip, nil
}

func (c *cloud) consoleStarted(ctx context.Context, id string) bool {
	out, err := c.ec2.GetConsoleOutput(ctx, &ec2.GetConsoleOutputInput{InstanceId: aws.String(id)})
	return err == nil && strings.TrimSpace(aws.ToString(out.Output)) != ""
}
