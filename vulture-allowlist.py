# Names vulture (make lint) reports as unused in src/kubernaut_wfe that are used where it cannot
# see: by a library calling into our code, by pydantic serialising a model, or by the tools.
# Reviewed by hand; each line says who uses the name. Not a module: vulture only reads it.
# ruff: noqa

# Protocols a library calls.
exc_type  # __aexit__ parameters (adapters/kube.py, datastorage/client.py)
traceback  # __aexit__ parameters (adapters/kube.py, datastorage/client.py)
_.async_auth_flow  # httpx.Auth hook: httpx calls it for every request (adapters/kube_auth.py)
_.row_factory  # sqlite3.Connection setting: rows come back as sqlite3.Row (audit_service)
_.build  # kopf.DiffBaseStorage method kopf calls (controller/kopf_tuning.py)
extra_fields  # parameter of kopf.DiffBaseStorage.build, as kopf passes it
_.purge  # kopf.ProgressStorage method kopf calls (controller/kopf_tuning.py)
_.touch  # kopf.ProgressStorage method kopf calls (controller/kopf_tuning.py)
_.diffbase_storage  # kopf.OperatorSettings kopf reads (controller/kopf_tuning.py)
_.progress_storage  # kopf.OperatorSettings kopf reads (controller/kopf_tuning.py)
_.idle_timeout  # kopf.OperatorSettings kopf reads (controller/kopf_tuning.py)
_.client_timeout  # kopf.OperatorSettings kopf reads (controller/kopf_setup.py)
_.connect_timeout  # kopf.OperatorSettings kopf reads (controller/kopf_setup.py)
_.request_timeout  # kopf.OperatorSettings kopf reads (controller/kopf_setup.py)
_.msg  # logging.LogRecord field the formatter reads (httplog.py)
_.exc_text  # logging.LogRecord field the formatter reads (httplog.py)
_.levelname  # logging.LogRecord field the formatter reads (httplog.py)
_.levelno  # logging.LogRecord field the handlers read (httplog.py)

# Pydantic: model settings, and fields of the WorkflowExecution CRD that are set by keyword
# (or only validated, as the orchestrator writes them) and serialised to the API by alias.
_.model_config  # pydantic model settings (core/config.py, core/models.py)
_.rationale  # spec.rationale (core/models.py; validated in core/validation.py)
_.total_tasks  # status.pipelineRunStatus.totalTasks (set in core/runstatus.py)
_.failed_task_index  # status.failureDetails.failedTaskIndex (set in core/failure.py)
_.execution_time_before_failure  # status.failureDetails.executionTimeBeforeFailure (core/failure.py)
_.failed_step_name  # status.failureDetails.failedStepName (set in core/failure.py)
_.observed_generation  # status and condition observedGeneration (set by keyword in core/)
_.execution_ref  # status.executionRef (set by keyword in core/platform_status.py)
_.execution_status  # status.executionStatus (set by keyword in core/platform_status.py)
_.config_maps  # spec.workflowRef.dependencies.configMaps (read as the catalog writes it)
_.workflow_name  # spec.workflowRef.workflowName (the catalog snapshot's display name)
_.action_type  # spec.workflowRef.actionType (the catalog snapshot's taxonomy action)

# Tekton's vocabulary (constants.py) that the Tekton simulator (tools/) writes as Tekton does.
_.SUCCEEDED  # TektonReason.SUCCEEDED
_.ERROR  # StepReason.ERROR
_.PIPELINE  # TektonLabel.PIPELINE
_.PIPELINE_RUN_UID  # TektonLabel.PIPELINE_RUN_UID
_.PIPELINE_TASK  # TektonLabel.PIPELINE_TASK
_.MEMBER_OF  # TektonLabel.MEMBER_OF
_.MANAGED_BY  # TektonLabel.MANAGED_BY

# The CRD's vocabulary (constants.py) that tests/unit/crdschema checks the CRD's enums against.
_.JOB  # ExecutionEngine.JOB: a value of spec.workflowRef.executionEngine
_.ANSIBLE  # ExecutionEngine.ANSIBLE: a value of spec.workflowRef.executionEngine
_.JANUARY_2026  # DataStorageContract.JANUARY_2026: a value of audit.datastorage_contract

# The kubelet's vocabulary (constants.py) that the node stand-in (tools/node_simulator) writes as
# the kubelet and containerd do.
JOB_NAME_LABEL  # the Job controller's pod label the stand-in counts a Job's pods by
KUBELET_COMPONENT  # source.component of the kubelet's Events
NODE_LEASE_NAMESPACE  # where the node's Lease is renewed
PodPhase  # status.phase of a pod
PodConditionType  # the kubelet's pod conditions
_.DISRUPTION_TARGET  # PodConditionType.DISRUPTION_TARGET
_.POD_READY_TO_START_CONTAINERS  # PodConditionType.POD_READY_TO_START_CONTAINERS
_.INITIALIZED  # PodConditionType.INITIALIZED
_.CONTAINERS_READY  # PodConditionType.CONTAINERS_READY
_.POD_SCHEDULED  # PodConditionType.POD_SCHEDULED
PodConditionReason  # reasons of those conditions
_.CONTAINERS_NOT_READY  # PodConditionReason.CONTAINERS_NOT_READY
_.POD_COMPLETED  # PodConditionReason.POD_COMPLETED
_.POD_FAILED  # PodConditionReason.POD_FAILED
_.TERMINATION_BY_KUBELET  # PodConditionReason.TERMINATION_BY_KUBELET
KubeletContainerReason  # container waiting/terminated reasons only the kubelet writes
_.CONTAINER_CREATING  # KubeletContainerReason.CONTAINER_CREATING
_.CONTAINER_STATUS_UNKNOWN  # KubeletContainerReason.CONTAINER_STATUS_UNKNOWN
KubeletEventReason  # reasons of the kubelet's Events
_.PULLING  # KubeletEventReason.PULLING
_.PULLED  # KubeletEventReason.PULLED
_.BACK_OFF  # KubeletEventReason.BACK_OFF
_.KILLING  # KubeletEventReason.KILLING
_.FAILED_MOUNT  # KubeletEventReason.FAILED_MOUNT
_.EVICTED  # KubeletEventReason.EVICTED
NodeConditionType  # the Node's conditions
_.MEMORY_PRESSURE  # NodeConditionType.MEMORY_PRESSURE
_.DISK_PRESSURE  # NodeConditionType.DISK_PRESSURE
_.PID_PRESSURE  # NodeConditionType.PID_PRESSURE
NodeConditionReason  # reasons of those conditions
_.KUBELET_HAS_SUFFICIENT_MEMORY  # NodeConditionReason.KUBELET_HAS_SUFFICIENT_MEMORY
_.KUBELET_HAS_NO_DISK_PRESSURE  # NodeConditionReason.KUBELET_HAS_NO_DISK_PRESSURE
_.KUBELET_HAS_SUFFICIENT_PID  # NodeConditionReason.KUBELET_HAS_SUFFICIENT_PID
_.KUBELET_READY  # NodeConditionReason.KUBELET_READY
NodeLabel  # labels the kubelet puts on its Node
_.ARCH  # NodeLabel.ARCH
_.HOSTNAME  # NodeLabel.HOSTNAME
_.OS  # NodeLabel.OS
