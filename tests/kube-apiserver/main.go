// main.go owns flags, the generic server configuration and the server chain:
//
//	core server (core/v1, apps/v1, batch/v1, coordination/v1, autoscaling/v2, ...)
//	  -> apiextensions-apiserver (CRDs and custom resources)
//	  -> 404
//
// as in kube-apiserver minus the aggregator. One secure port on 127.0.0.1,
// client-certificate authentication (plus anonymous), AlwaysAllow
// authorization, no API priority and fairness, NamespaceLifecycle admission,
// and the generic server's audit log (--audit-policy-file, --audit-log-path),
// which records who made each request, impersonated users included.
// A post-start hook creates the default namespaces.
package main

import (
	goflag "flag"
	"fmt"
	"net"
	"os"
	"time"

	"github.com/spf13/pflag"

	noopoteltrace "go.opentelemetry.io/otel/trace/noop"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apiextv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apiextv1beta1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1beta1"
	apiextensionsapiserver "k8s.io/apiextensions-apiserver/pkg/apiserver"
	extensionsoptions "k8s.io/apiextensions-apiserver/pkg/cmd/server/options"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/admission/plugin/namespace/lifecycle"
	"k8s.io/apiserver/pkg/authorization/authorizerfactory"
	discoveryaggregated "k8s.io/apiserver/pkg/endpoints/discovery/aggregated"
	openapinamer "k8s.io/apiserver/pkg/endpoints/openapi"
	"k8s.io/apiserver/pkg/registry/generic"
	"k8s.io/apiserver/pkg/registry/rest"
	genericapiserver "k8s.io/apiserver/pkg/server"
	"k8s.io/apiserver/pkg/server/healthz"
	genericoptions "k8s.io/apiserver/pkg/server/options"
	serverstorage "k8s.io/apiserver/pkg/server/storage"
	"k8s.io/apiserver/pkg/storage/storagebackend"
	"k8s.io/apiserver/pkg/util/webhook"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/klog/v2"
	netutils "k8s.io/utils/net"
)

// resources lists every built-in resource this server serves.
var resources = []resourceDef{
	{gv: corev1.SchemeGroupVersion, resource: "namespaces", singular: "namespace", kind: "Namespace", status: true, shortNames: []string{"ns"}},
	{gv: corev1.SchemeGroupVersion, resource: "pods", singular: "pod", kind: "Pod", namespaced: true, status: true, shortNames: []string{"po"}, categories: []string{"all"}},
	{gv: corev1.SchemeGroupVersion, resource: "services", singular: "service", kind: "Service", namespaced: true, status: true, shortNames: []string{"svc"}, categories: []string{"all"}},
	{gv: corev1.SchemeGroupVersion, resource: "endpoints", singular: "endpoints", kind: "Endpoints", namespaced: true, shortNames: []string{"ep"}, createOnUpdate: true},
	{gv: corev1.SchemeGroupVersion, resource: "events", singular: "event", kind: "Event", namespaced: true, shortNames: []string{"ev"}, createOnUpdate: true},
	{gv: corev1.SchemeGroupVersion, resource: "secrets", singular: "secret", kind: "Secret", namespaced: true},
	{gv: corev1.SchemeGroupVersion, resource: "configmaps", singular: "configmap", kind: "ConfigMap", namespaced: true, shortNames: []string{"cm"}},
	{gv: corev1.SchemeGroupVersion, resource: "serviceaccounts", singular: "serviceaccount", kind: "ServiceAccount", namespaced: true, shortNames: []string{"sa"}},
	{gv: corev1.SchemeGroupVersion, resource: "nodes", singular: "node", kind: "Node", status: true, shortNames: []string{"no"}},
	{gv: corev1.SchemeGroupVersion, resource: "persistentvolumeclaims", singular: "persistentvolumeclaim", kind: "PersistentVolumeClaim", namespaced: true, status: true, shortNames: []string{"pvc"}},
	{gv: corev1.SchemeGroupVersion, resource: "persistentvolumes", singular: "persistentvolume", kind: "PersistentVolume", status: true, shortNames: []string{"pv"}},
	{gv: appsv1.SchemeGroupVersion, resource: "deployments", singular: "deployment", kind: "Deployment", namespaced: true, status: true, scale: true, shortNames: []string{"deploy"}, categories: []string{"all"}},
	{gv: appsv1.SchemeGroupVersion, resource: "replicasets", singular: "replicaset", kind: "ReplicaSet", namespaced: true, status: true, scale: true, shortNames: []string{"rs"}, categories: []string{"all"}},
	{gv: batchv1.SchemeGroupVersion, resource: "jobs", singular: "job", kind: "Job", namespaced: true, status: true, categories: []string{"all"}},
	{gv: coordinationv1.SchemeGroupVersion, resource: "leases", singular: "lease", kind: "Lease", namespaced: true, createOnUpdate: true},
	// Stored as given (no RBAC enforcement: the authorizer is AlwaysAllow); served so install manifests apply.
	{gv: rbacv1.SchemeGroupVersion, resource: "clusterroles", singular: "clusterrole", kind: "ClusterRole"},
	{gv: rbacv1.SchemeGroupVersion, resource: "clusterrolebindings", singular: "clusterrolebinding", kind: "ClusterRoleBinding"},
	{gv: rbacv1.SchemeGroupVersion, resource: "roles", singular: "role", kind: "Role", namespaced: true},
	{gv: rbacv1.SchemeGroupVersion, resource: "rolebindings", singular: "rolebinding", kind: "RoleBinding", namespaced: true},
	{gv: policyv1.SchemeGroupVersion, resource: "poddisruptionbudgets", singular: "poddisruptionbudget", kind: "PodDisruptionBudget", namespaced: true, status: true, shortNames: []string{"pdb"}},
	{gv: networkingv1.SchemeGroupVersion, resource: "networkpolicies", singular: "networkpolicy", kind: "NetworkPolicy", namespaced: true, shortNames: []string{"netpol"}},
	// Stored and read back only (no HPA controller runs): `install --builder-autoscale`.
	{gv: autoscalingv2.SchemeGroupVersion, resource: "horizontalpodautoscalers", singular: "horizontalpodautoscaler", kind: "HorizontalPodAutoscaler", namespaced: true, status: true, shortNames: []string{"hpa"}, categories: []string{"all"}},
	{gv: networkingv1.SchemeGroupVersion, resource: "ingresses", singular: "ingress", kind: "Ingress", namespaced: true, status: true, shortNames: []string{"ing"}},
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintf(os.Stderr, "error: %v\n", err)
		os.Exit(1)
	}
}

func run() error {
	fs := pflag.CommandLine
	etcdOpts := genericoptions.NewEtcdOptions(storagebackend.NewDefaultConfig("/registry", nil))
	secure := genericoptions.NewSecureServingOptions().WithLoopback()
	secure.BindAddress = netutils.ParseIPSloppy("127.0.0.1")
	secure.HTTP2MaxStreamsPerConnection = 1000
	authn := genericoptions.NewDelegatingAuthenticationOptions()
	authn.RemoteKubeConfigFileOptional = true
	authn.SkipInClusterLookup = true
	etcdOpts.AddFlags(fs)
	secure.AddFlags(fs)
	authn.ClientCert.AddFlags(fs)
	audit := genericoptions.NewAuditOptions()
	audit.AddFlags(fs)
	klogFlags := goflag.NewFlagSet("klog", goflag.ExitOnError)
	klog.InitFlags(klogFlags)
	fs.AddGoFlagSet(klogFlags)
	pflag.Parse()

	if err := secure.MaybeDefaultWithSelfSignedCerts("localhost", nil, []net.IP{netutils.ParseIPSloppy("127.0.0.1")}); err != nil {
		return fmt.Errorf("self-signed certificates: %w", err)
	}
	runOpts := genericoptions.NewServerRunOptions()
	runOpts.AdvertiseAddress = netutils.ParseIPSloppy("127.0.0.1")

	// ---- shared generic configuration ----
	cfg := genericapiserver.NewRecommendedConfig(Codecs)
	if err := runOpts.ApplyTo(&cfg.Config); err != nil {
		return err
	}
	if err := secure.ApplyToConfig(&cfg.Config); err != nil {
		return err
	}
	if err := authn.ApplyTo(&cfg.Authentication, cfg.SecureServing, nil); err != nil {
		return err
	}
	cfg.Authorization.Authorizer = authorizerfactory.NewAlwaysAllowAuthorizer()
	if err := audit.ApplyTo(&cfg.Config); err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	genericapiserver.AuthorizeClientBearerToken(cfg.LoopbackClientConfig, &cfg.Authentication, &cfg.Authorization)
	cfg.FlowControl = nil
	cfg.ClientConfig = cfg.LoopbackClientConfig
	loopbackClient, err := kubernetes.NewForConfig(cfg.LoopbackClientConfig)
	if err != nil {
		return err
	}
	dynamicClient, err := dynamic.NewForConfig(cfg.LoopbackClientConfig)
	if err != nil {
		return err
	}
	cfg.SharedInformerFactory = informers.NewSharedInformerFactory(loopbackClient, 10*time.Minute)
	admOpts := genericoptions.NewAdmissionOptions()
	admOpts.RecommendedPluginOrder = []string{lifecycle.PluginName}
	if err := admOpts.ApplyTo(&cfg.Config, cfg.SharedInformerFactory, loopbackClient, dynamicClient, cfg.FeatureGate, cfg.EffectiveVersion); err != nil {
		return fmt.Errorf("admission: %w", err)
	}
	// One aggregated-discovery manager shared by both servers (no aggregator).
	cfg.AggregatedDiscoveryGroupManager = discoveryaggregated.NewResourceManager("apis")

	// ---- apiextensions-apiserver ----
	extCfg := *cfg
	extCfg.PostStartHooks = map[string]genericapiserver.PostStartHookConfigEntry{}
	extCfg.HealthzChecks = append([]healthz.HealthChecker{}, cfg.HealthzChecks...)
	extCfg.ReadyzChecks = append([]healthz.HealthChecker{}, cfg.ReadyzChecks...)
	extCfg.LivezChecks = append([]healthz.HealthChecker{}, cfg.LivezChecks...)
	extCfg.SkipOpenAPIInstallation = true // CRD OpenAPI is published by the core server (openapi.go)
	extCfg.MergedResourceConfig = apiextensionsapiserver.DefaultAPIResourceConfigSource()
	extCfg.OpenAPIV3Config = genericapiserver.DefaultOpenAPIV3Config(openAPIDefinitions, openapinamer.NewDefinitionNamer(apiextensionsapiserver.Scheme, Scheme))
	extCfg.OpenAPIConfig = genericapiserver.DefaultOpenAPIConfig(openAPIDefinitions, openapinamer.NewDefinitionNamer(apiextensionsapiserver.Scheme, Scheme))
	extEtcd := *etcdOpts
	extEtcd.StorageConfig.Codec = apiextensionsapiserver.Codecs.LegacyCodec(apiextv1beta1.SchemeGroupVersion, apiextv1.SchemeGroupVersion)
	extEtcd.StorageConfig.EncodeVersioner = schema.GroupVersions{apiextv1.SchemeGroupVersion}
	if err := extEtcd.ApplyTo(&extCfg.Config); err != nil {
		return fmt.Errorf("etcd (apiextensions): %w", err)
	}
	crdOptionsGetter := extensionsoptions.NewCRDRESTOptionsGetter(extEtcd, extCfg.ResourceTransformers, extCfg.StorageObjectCountTracker)
	extConfig := &apiextensionsapiserver.Config{
		GenericConfig: &extCfg,
		ExtraConfig: apiextensionsapiserver.ExtraConfig{
			CRDRESTOptionsGetter: crdOptionsGetter,
			ServiceResolver:      &serviceResolver{cfg.SharedInformerFactory.Core().V1().Services().Lister()},
			AuthResolverWrapper:  webhook.NewDefaultAuthenticationInfoResolverWrapper(nil, nil, cfg.LoopbackClientConfig, noopoteltrace.NewTracerProvider()),
		},
	}
	extServer, err := extConfig.Complete().New(genericapiserver.NewEmptyDelegate())
	if err != nil {
		return fmt.Errorf("apiextensions server: %w", err)
	}

	// ---- core server ----
	coreCfg := *cfg
	coreCfg.HealthzChecks = append([]healthz.HealthChecker{}, cfg.HealthzChecks...)
	coreCfg.ReadyzChecks = append([]healthz.HealthChecker{}, cfg.ReadyzChecks...)
	coreCfg.LivezChecks = append([]healthz.HealthChecker{}, cfg.LivezChecks...)
	namer := openapinamer.NewDefinitionNamer(Scheme, apiextensionsapiserver.Scheme)
	coreCfg.OpenAPIConfig = genericapiserver.DefaultOpenAPIConfig(openAPIDefinitions, namer)
	coreCfg.OpenAPIConfig.Info.Title = "Kubernetes"
	coreCfg.OpenAPIV3Config = genericapiserver.DefaultOpenAPIV3Config(openAPIDefinitions, namer)
	coreCfg.OpenAPIV3Config.Info.Title = "Kubernetes"
	coreEtcd := *etcdOpts
	coreEtcd.StorageConfig.Codec = Codecs.LegacyCodec(servedVersions...)
	coreEtcd.StorageConfig.EncodeVersioner = schema.GroupVersions(servedVersions)
	if err := coreEtcd.ApplyTo(&coreCfg.Config); err != nil {
		return fmt.Errorf("etcd: %w", err)
	}
	resourceConfig := serverstorage.NewResourceConfig()
	resourceConfig.EnableVersions(servedVersions...)
	coreCfg.MergedResourceConfig = resourceConfig
	core, err := coreCfg.Complete().New("mosaic-kube-apiserver", extServer.GenericAPIServer)
	if err != nil {
		return fmt.Errorf("core server: %w", err)
	}
	// A test server should exit promptly on SIGTERM even when a client still
	// holds a watch open (the default waits up to RequestTimeout, 60 s).
	core.ShutdownTimeout = 2 * time.Second
	if err := installGroups(core, coreCfg.RESTOptionsGetter); err != nil {
		return err
	}

	bridgeCRDDiscovery(core, extServer)
	core.AddPostStartHookOrDie("mosaic-default-namespaces", func(ctx genericapiserver.PostStartHookContext) error {
		return createDefaultNamespaces(ctx, loopbackClient)
	})

	wireOpenAPI(core, extServer) // its hook reads the OpenAPI services PrepareRun creates
	prepared := core.PrepareRun()
	return prepared.RunWithContext(genericapiserver.SetupSignalContext())
}

// installGroups installs the legacy core group under /api and the named
// groups under /apis.
func installGroups(s *genericapiserver.GenericAPIServer, getter generic.RESTOptionsGetter) error {
	byGroup := map[string]map[string]map[string]rest.Storage{} // group -> version -> path -> storage
	order := []string{}
	for i := range resources {
		def := &resources[i]
		st, err := newStorage(def, getter)
		if err != nil {
			return err
		}
		if byGroup[def.gv.Group] == nil {
			byGroup[def.gv.Group] = map[string]map[string]rest.Storage{}
			order = append(order, def.gv.Group)
		}
		if byGroup[def.gv.Group][def.gv.Version] == nil {
			byGroup[def.gv.Group][def.gv.Version] = map[string]rest.Storage{}
		}
		for k, v := range st {
			byGroup[def.gv.Group][def.gv.Version][k] = v
		}
	}
	for _, group := range order {
		info := genericapiserver.NewDefaultAPIGroupInfo(group, Scheme, ParameterCodec, Codecs)
		info.VersionedResourcesStorageMap = byGroup[group]
		if group == "" {
			if err := s.InstallLegacyAPIGroup(genericapiserver.DefaultLegacyAPIPrefix, &info); err != nil {
				return fmt.Errorf("install core/v1: %w", err)
			}
			continue
		}
		if err := s.InstallAPIGroup(&info); err != nil {
			return fmt.Errorf("install %s: %w", group, err)
		}
	}
	return nil
}
