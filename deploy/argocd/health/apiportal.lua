-- Argo CD health check shared by every apiportal.dev kind (TykProvider, APIProduct, Plan,
-- Catalogue, ConsumerApp, ProvisioningRequest). It reads the kstatus-style status the operator
-- writes: status.observedGeneration and the conditions Ready, Reconciling and Stalled.
-- Paste it under resource.customizations.health.apiportal.dev_<Kind> in argocd-cm (docs/gitops.md).
local hs = {}

-- Ready=False reasons that wait for a person rather than for the operator.
local suspended = { AwaitingApproval = true, Suspended = true }
-- Ready=False reasons that need a change by a person (used if no Stalled condition is present).
local stalled = {
  Unauthorized = true, TykRejected = true, APINotFound = true, AuthTypeMismatch = true,
  InvalidSpec = true, OwnershipConflict = true, SecretConflict = true, AppNotFound = true,
  CatalogueNotFound = true, NotInCatalogue = true, NotVisible = true, ProviderMismatch = true,
  Denied = true, Expired = true, PolicyWritesRefused = true,
  CredentialTypeUnsupported = true,
}

local function describe(condition, fallback)
  if condition == nil then
    return fallback
  end
  local text = condition.reason or fallback
  if condition.message ~= nil and condition.message ~= "" then
    text = text .. ": " .. condition.message
  end
  return text
end

if obj.status == nil then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator to report a status"
  return hs
end

local generation = obj.metadata and obj.metadata.generation
local observed = obj.status.observedGeneration
if generation ~= nil and observed ~= generation then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator to observe generation " .. tostring(generation)
  return hs
end

local conditions = {}
if obj.status.conditions ~= nil then
  for _, condition in ipairs(obj.status.conditions) do
    if condition.type ~= nil then
      conditions[condition.type] = condition
    end
  end
end
local ready = conditions["Ready"]
local stalledCondition = conditions["Stalled"]
local reconciling = conditions["Reconciling"]

if ready ~= nil and ready.status == "True" then
  hs.status = "Healthy"
  hs.message = describe(ready, "Ready")
  return hs
end

if ready ~= nil and ready.status == "False" and suspended[ready.reason] then
  hs.status = "Suspended"
  hs.message = describe(ready, "Suspended")
  return hs
end

if stalledCondition ~= nil and stalledCondition.status == "True" then
  hs.status = "Degraded"
  hs.message = describe(ready, describe(stalledCondition, "Stalled"))
  return hs
end

if reconciling ~= nil and reconciling.status == "True" then
  hs.status = "Progressing"
  hs.message = describe(reconciling, "Reconciling")
  return hs
end

if ready ~= nil and ready.status == "False" and stalled[ready.reason] then
  hs.status = "Degraded"
  hs.message = describe(ready, "NotReady")
  return hs
end

hs.status = "Progressing"
hs.message = describe(ready, "Waiting for the Ready condition")
return hs
