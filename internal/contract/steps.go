package contract

// Step kinds. docs/steps.md documents the args of each.
const (
	StepEnsureFile      = "ensure_file"
	StepRemoveFile      = "remove_file"
	StepEnsureDirectory = "ensure_directory"
	StepRemoveDirectory = "remove_directory"
	StepFetchRepo       = "fetch_repo"
	StepRemoveRepo      = "remove_repo"
	StepBuildImage      = "build_image"
	StepRemoveImage     = "remove_image"
	StepEnsureService   = "ensure_service"
	StepRemoveService   = "remove_service"
	StepEnsureNetwork   = "ensure_network"
	StepRemoveNetwork   = "remove_network"
	StepEnsureVolume    = "ensure_volume"
	StepRemoveVolume    = "remove_volume"
	StepRunCommand      = "run_command"
	StepVerifyHTTP      = "verify_http"
	StepVerifyTCP       = "verify_tcp"
	StepVerifyFile      = "verify_file"
	StepVerifyCommand   = "verify_command"
	StepCustom          = "custom"
)

// StepKinds lists every step kind, sorted.
var StepKinds = []string{
	StepBuildImage, StepCustom, StepEnsureDirectory, StepEnsureFile,
	StepEnsureNetwork, StepEnsureService, StepEnsureVolume, StepFetchRepo,
	StepRemoveDirectory, StepRemoveFile, StepRemoveImage, StepRemoveNetwork,
	StepRemoveRepo, StepRemoveService, StepRemoveVolume, StepRunCommand,
	StepVerifyCommand, StepVerifyFile, StepVerifyHTTP, StepVerifyTCP,
}

// IsVerify reports whether a step kind only observes (verify_*).
func IsVerify(name string) bool {
	switch name {
	case StepVerifyHTTP, StepVerifyTCP, StepVerifyFile, StepVerifyCommand:
		return true
	}
	return false
}

// IsDelete reports whether a step kind removes something.
func IsDelete(name string) bool {
	switch name {
	case StepRemoveFile, StepRemoveDirectory, StepRemoveRepo, StepRemoveImage,
		StepRemoveService, StepRemoveNetwork, StepRemoveVolume:
		return true
	}
	return false
}
