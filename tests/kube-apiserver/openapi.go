// openapi.go owns the OpenAPI glue: the merged definitions (openapi-gen
// output for the built-in groups, generated at build time into
// mosaic.local/kubeapiserver/openapi, plus apiextensions' own generated
// definitions) that give server-side apply its real list-map keys, and the
// wiring that publishes CRD schemas and the apiextensions.k8s.io group on the
// core (outermost) server's /openapi/v2 and /openapi/v3.
package main

import (
	"k8s.io/apiextensions-apiserver/pkg/apiserver"
	crdopenapi "k8s.io/apiextensions-apiserver/pkg/controller/openapi"
	crdopenapiv3 "k8s.io/apiextensions-apiserver/pkg/controller/openapiv3"
	extgenerated "k8s.io/apiextensions-apiserver/pkg/generated/openapi"
	genericapiserver "k8s.io/apiserver/pkg/server"
	"k8s.io/klog/v2"
	"k8s.io/kube-openapi/pkg/builder3"
	"k8s.io/kube-openapi/pkg/common"
	"k8s.io/kube-openapi/pkg/common/restfuladapter"

	generated "mosaic.local/kubeapiserver/openapi"
)

func openAPIDefinitions(ref common.ReferenceCallback) map[string]common.OpenAPIDefinition {
	defs := extgenerated.GetOpenAPIDefinitions(ref)
	for k, v := range generated.GetOpenAPIDefinitions(ref) {
		defs[k] = v
	}
	return defs
}

// wireOpenAPI must run before core.PrepareRun(); its post-start hook runs
// after PrepareRun has created the OpenAPI services. It starts apiextensions' CRD OpenAPI controllers against the
// core server's services and publishes the apiextensions.k8s.io/v1 group.
func wireOpenAPI(core *genericapiserver.GenericAPIServer, ext *apiserver.CustomResourceDefinitions) {
	crdInformer := ext.Informers.Apiextensions().V1().CustomResourceDefinitions()
	core.AddPostStartHookOrDie("mosaic-crd-openapi", func(ctx genericapiserver.PostStartHookContext) error {
		if core.StaticOpenAPISpec != nil && core.OpenAPIVersionedService != nil {
			go crdopenapi.NewController(crdInformer).Run(core.StaticOpenAPISpec, core.OpenAPIVersionedService, ctx.Done())
		}
		if core.OpenAPIV3VersionedService != nil {
			go crdopenapiv3.NewController(crdInformer).Run(core.OpenAPIV3VersionedService, ctx.Done())
			cfg := genericapiserver.DefaultOpenAPIV3Config(openAPIDefinitions, openapinamerFor())
			spec, err := builder3.BuildOpenAPISpecFromRoutes(restfuladapter.AdaptWebServices(ext.GenericAPIServer.Handler.GoRestfulContainer.RegisteredWebServices()), cfg)
			if err != nil {
				klog.Errorf("openapi v3 for apiextensions.k8s.io: %v", err)
			} else {
				core.OpenAPIV3VersionedService.UpdateGroupVersion("apis/apiextensions.k8s.io/v1", spec)
			}
		}
		return nil
	})
}
