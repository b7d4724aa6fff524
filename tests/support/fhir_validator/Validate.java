// Validates FHIR R4 JSON files with HL7's validator engine against the R4 core definitions,
// offline. Prints one line per message: file, severity, location, message (tab-separated).
// Run by tests/support/fhir_validation.py as a single-file program: java -cp <classpath> Validate.java f...
import ca.uhn.fhir.context.FhirContext;
import ca.uhn.fhir.context.support.DefaultProfileValidationSupport;
import ca.uhn.fhir.validation.FhirValidator;
import ca.uhn.fhir.validation.SingleValidationMessage;
import java.nio.file.Files;
import java.nio.file.Path;
import org.hl7.fhir.common.hapi.validation.support.CommonCodeSystemsTerminologyService;
import org.hl7.fhir.common.hapi.validation.support.InMemoryTerminologyServerValidationSupport;
import org.hl7.fhir.common.hapi.validation.support.SnapshotGeneratingValidationSupport;
import org.hl7.fhir.common.hapi.validation.support.ValidationSupportChain;
import org.hl7.fhir.common.hapi.validation.validator.FhirInstanceValidator;

public class Validate {
  public static void main(String[] args) throws Exception {
    FhirContext context = FhirContext.forR4();
    ValidationSupportChain support = new ValidationSupportChain(
        new DefaultProfileValidationSupport(context),
        new CommonCodeSystemsTerminologyService(context),
        new InMemoryTerminologyServerValidationSupport(context),
        new SnapshotGeneratingValidationSupport(context));
    FhirValidator validator = context.newValidator().registerValidatorModule(new FhirInstanceValidator(support));
    for (String file : args) {
      for (SingleValidationMessage message : validator.validateWithResult(Files.readString(Path.of(file))).getMessages()) {
        String text = message.getMessage().replace('\t', ' ').replace('\n', ' ');
        System.out.println(file + "\t" + message.getSeverity() + "\t" + message.getLocationString() + "\t" + text);
      }
    }
  }
}
