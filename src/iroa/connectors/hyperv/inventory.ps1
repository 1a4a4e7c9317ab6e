# IROA Hyper-V inventory: read-only. Windows PowerShell 5.1, Windows Server 2016-2025.
#
# Prints ONE JSON document: an object whose keys are cmdlet names and whose
# values are arrays of that cmdlet's objects, reduced with Select-Object to the
# properties IROA maps. Nothing is changed on the host or the cluster.
# On a failover cluster node it reads every node that is up (Up or Paused),
# their VMs, the cluster shared volumes and the cluster itself; on a
# standalone host, the host, its VMs and its volumes.
#
# IROA sends this file as `powershell.exe -EncodedCommand`, with full-line
# comments and indentation removed to keep the command line short; so no
# here-strings and no block comments here.

$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
$WarningPreference = 'SilentlyContinue'

try {
    $collectedAt = [DateTime]::UtcNow
    $cluster = $null
    $clusterNodes = @()
    $csvs = @()
    $nodes = @($env:COMPUTERNAME)

    # A node of a failover cluster: read the cluster through the local cluster service.
    if ((Get-Service -Name ClusSvc -ErrorAction SilentlyContinue).Status -eq 'Running') {
        Import-Module FailoverClusters
        $cluster = Get-Cluster | Select-Object Name, Domain, Id, AutoBalancerMode, AutoBalancerLevel
        $clusterNodes = @(Get-ClusterNode | Select-Object Name, Id, State, DrainStatus,
            Model, Manufacturer, SerialNumber, BuildNumber, MajorVersion, MinorVersion,
            @{ n = 'Cluster'; e = { $_.Cluster.Name } })
        $csvs = @(Get-ClusterSharedVolume | Select-Object Name, Id, State,
            @{ n = 'OwnerNode'; e = { $_.OwnerNode.Name } },
            @{ n = 'SharedVolumeInfo'; e = { @($_.SharedVolumeInfo | Select-Object FriendlyVolumeName,
                MaintenanceMode, RedirectedAccess,
                @{ n = 'Partition'; e = { $_.Partition | Select-Object Name, Size, FreeSpace,
                    UsedSpace, PercentFree, FileSystem } }) } })
        # A node that is down cannot answer; its clustered VMs fail over to the others.
        $nodes = @($clusterNodes | Where-Object { $_.State -eq 0 -or $_.State -eq 2 } |
            ForEach-Object { $_.Name })
    }

    # The local node is read directly; naming it would make WinRM connect back to itself.
    function Get-Target([string]$Node) {
        if ($Node -eq $env:COMPUTERNAME) { @{} } else { @{ ComputerName = $Node } }
    }

    $vmHosts = @(foreach ($node in $nodes) { $on = Get-Target $node
        Get-VMHost @on | Select-Object Name, ComputerName, FullyQualifiedDomainName,
            LogicalProcessorCount, MemoryCapacity, VirtualHardDiskPath, VirtualMachinePath })

    $vms = @(foreach ($node in $nodes) { $on = Get-Target $node
        Get-VM @on | Select-Object Name, Id, VMId, State,
            @{ n = 'StateName'; e = { $_.State.ToString() } }, Status, ProcessorCount,
            MemoryAssigned, MemoryDemand, MemoryStartup, MemoryMinimum, MemoryMaximum,
            DynamicMemoryEnabled, Uptime, Generation, Version, IsClustered, ComputerName, Path,
            ConfigurationLocation, Notes, CreationTime, Heartbeat, IntegrationServicesState,
            @{ n = 'IntegrationServicesVersion'; e = { "$($_.IntegrationServicesVersion)" } },
            ParentSnapshotId, ParentSnapshotName })

    $drives = @(foreach ($node in $nodes) { $on = Get-Target $node
        Get-VMHardDiskDrive -VMName * @on | Select-Object VMName, VMId, Name, Path,
            ControllerType, ControllerNumber, ControllerLocation, DiskNumber, ComputerName })

    # Pass-through disks have no VHD, and a VHD that is missing is worth a row, not a failure.
    $vhds = @(foreach ($drive in $drives) {
        if ($drive.Path -and $null -eq $drive.DiskNumber) {
            $on = Get-Target $drive.ComputerName
            try {
                Get-VHD -Path $drive.Path @on | Select-Object Path, VhdFormat, VhdType, Size,
                    FileSize, ParentPath, Attached,
                    @{ n = 'ComputerName'; e = { $drive.ComputerName } }
            } catch { }
        }
    })

    # DVD drives, empty or not; the media type as its name (None, ISO, PassThrough).
    $dvdDrives = @(foreach ($node in $nodes) { $on = Get-Target $node
        Get-VMDvdDrive -VMName * @on | Select-Object VMName, VMId, Name, Path, ControllerType,
            ControllerNumber, ControllerLocation,
            @{ n = 'DvdMediaType'; e = { "$($_.DvdMediaType)" } }, ComputerName })

    $adapters = @(foreach ($node in $nodes) { $on = Get-Target $node
        Get-VMNetworkAdapter -VMName * @on | Select-Object VMName, VMId, Name, Id, MacAddress,
            SwitchName, SwitchId, IPAddresses, Connected, DynamicMacAddressEnabled, IsLegacy,
            Status, ComputerName,
            @{ n = 'VlanSetting'; e = { [pscustomobject]@{
                OperationMode = [int]$_.VlanSetting.OperationMode
                AccessVlanId = $_.VlanSetting.AccessVlanId } } } })

    # Guest facts from the integration services' key-value exchange (KVP), one query per
    # node: only what the guest itself reports. A VM that is off, or whose guest runs no
    # integration services, has none; a node whose KVP cannot be read, or an item that is
    # not the XML expected, leaves those facts out instead of failing the inventory.
    $guestKeys = @('OSName', 'OSVersion', 'FullyQualifiedDomainName')
    $guests = @(foreach ($node in $nodes) { $on = Get-Target $node
        try {
            $components = @(Get-CimInstance -Namespace root\virtualization\v2 -ClassName Msvm_KvpExchangeComponent @on)
        } catch { $components = @() }
        foreach ($component in $components) {
            $facts = [ordered]@{}
            foreach ($entry in @($component.GuestIntrinsicExchangeItems | Where-Object { $_ })) {
                try {
                    $item = [xml]$entry
                    $key = $item.SelectSingleNode("/INSTANCE/PROPERTY[@NAME='Name']/VALUE")
                    $value = $item.SelectSingleNode("/INSTANCE/PROPERTY[@NAME='Data']/VALUE")
                    $name = if ($null -ne $key) { $key.InnerText }
                    if ($null -ne $value -and $guestKeys -contains $name) {
                        $facts[$name] = $value.InnerText
                    }
                } catch { }
            }
            if ($facts.Count -gt 0) {
                [pscustomobject]@{ SystemName = $component.SystemName; ComputerName = $node
                    GuestIntrinsicExchangeItems = [pscustomobject]$facts }
            }
        } })

    $switches = @(foreach ($node in $nodes) { $on = Get-Target $node
        Get-VMSwitch @on | Select-Object Name, Id, SwitchType, AllowManagementOS,
            NetAdapterInterfaceDescription, Notes, ComputerName })

    $checkpoints = @(foreach ($node in $nodes) { $on = Get-Target $node
        Get-VMSnapshot -VMName * @on | Select-Object VMName, VMId, Name, Id, SnapshotType,
            CreationTime, ParentSnapshotId, ParentSnapshotName, ComputerName })

    # Local fixed volumes of each node; cluster shared volumes come from the cluster above.
    $volumes = @(foreach ($node in $nodes) {
        $cim = if ($node -eq $env:COMPUTERNAME) { @{} } else { @{ CimSession = $node } }
        Get-Volume @cim | Where-Object {
            $_.DriveType -eq 'Fixed' -and $_.FileSystem -and $_.FileSystem -ne 'CSVFS'
        } | Select-Object DriveLetter, FileSystemLabel, FileSystem, Size, SizeRemaining, Path,
            UniqueId, HealthStatus, @{ n = 'DriveType'; e = { "$($_.DriveType)" } },
            @{ n = 'ComputerName'; e = { $node } }
    })

    $computerSystems = @(foreach ($node in $nodes) { $on = Get-Target $node
        Get-CimInstance -ClassName Win32_ComputerSystem @on | Select-Object Name, DNSHostName,
            Domain, Manufacturer, Model, NumberOfProcessors, NumberOfLogicalProcessors,
            TotalPhysicalMemory })
    $operatingSystems = @(foreach ($node in $nodes) { $on = Get-Target $node
        Get-CimInstance -ClassName Win32_OperatingSystem @on | Select-Object CSName, Caption,
            Version, BuildNumber, LastBootUpTime })
    $processors = @(foreach ($node in $nodes) { $on = Get-Target $node
        Get-CimInstance -ClassName Win32_Processor @on | Select-Object SystemName, Name,
            NumberOfCores, NumberOfLogicalProcessors, MaxClockSpeed, SocketDesignation })

    $envelope = [ordered]@{
        'Get-Date' = @($collectedAt)
        'Get-VMHost' = $vmHosts
        'Get-VM' = $vms
        'Get-VMHardDiskDrive' = $drives
        'Get-VHD' = $vhds
        'Get-VMDvdDrive' = $dvdDrives
        'Get-VMNetworkAdapter' = $adapters
        'Msvm_KvpExchangeComponent' = $guests
        'Get-VMSwitch' = $switches
        'Get-VMSnapshot' = $checkpoints
        'Get-Volume' = $volumes
        'Win32_ComputerSystem' = $computerSystems
        'Win32_OperatingSystem' = $operatingSystems
        'Win32_Processor' = $processors
        'Get-Cluster' = @($cluster | Where-Object { $_ })
        'Get-ClusterNode' = $clusterNodes
        'Get-ClusterSharedVolume' = $csvs
    }
    $envelope | ConvertTo-Json -Depth 4 -Compress
} catch {
    # One readable line on the error stream and a non-zero exit: IROA reports it as is.
    [Console]::Error.WriteLine("$($_.InvocationInfo.MyCommand): $($_.Exception.Message)")
    exit 1
}
